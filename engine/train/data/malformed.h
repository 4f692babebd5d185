// Malformed input lines: listed in the DataReport (MalformedPolicy::Skip) or fatal (Stop).
// Never dropped without a trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/data_config.h"

namespace moe::train {

struct MalformedLine {
    std::string file;
    int64_t line = 0;    // 1-based
    std::string code;    // data.invalid_json, data.unknown_role, ...
    std::string reason;  // what is wrong, in words

    std::string text() const;  // "file:line: reason [code]"
};

class MalformedLog {
public:
    explicit MalformedLog(MalformedPolicy policy) : policy_(policy) {}

    // Skip: records the line. Stop: throws moe::Error(code, file, "line N: reason").
    void add(MalformedLine line);

    MalformedPolicy policy() const { return policy_; }
    const std::vector<MalformedLine>& lines() const { return lines_; }

private:
    MalformedPolicy policy_;
    std::vector<MalformedLine> lines_;
};

}  // namespace moe::train
