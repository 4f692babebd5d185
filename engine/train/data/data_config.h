// What a fine-tune run trains on: the data sources and how they become packed batches.
// Validated by DataConfig::validate() (code data.bad_config); used by Dataset (dataset.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moe::train {

// What happens to a malformed line (bad JSON, unknown role, no assistant turn, invalid UTF-8...).
enum class MalformedPolicy {
    Skip,  // leave it out and list it (file:line: what is wrong) in the DataReport
    Stop,  // throw moe::Error naming the file and line
};

const char* malformed_policy_name(MalformedPolicy p);

// One data source: a .jsonl file (chat lines {"messages": [...]} or text lines {"text": ...}), a
// plain text file (one document), or a folder of such files (recursive, hidden names skipped).
struct DataSourceSpec {
    std::string path;
    // The domain tag. Empty: the folder's name for a folder, the file's stem for a file. A
    // "domain" field in a JSONL line overrides it for that line.
    std::string domain;

    // "PATH" or "PATH=domain" (split at the last '=' when what follows is a valid domain name).
    static DataSourceSpec parse(std::string_view spec);
};

// Domain names: 1-64 characters of [A-Za-z0-9_.-].
bool is_valid_domain_name(std::string_view name);

struct DataConfig {
    std::vector<DataSourceSpec> sources;
    int64_t seq_len = 2048;          // tokens per packed sequence (>= 2)
    int64_t batch = 1;               // sequences per batch (>= 1)
    uint64_t seed = 0;               // shuffling, held-out choice and FIM draws
    double holdout_fraction = 0.0;   // per domain, in [0, 1); > 0 holds out at least 1 document of every
                                     // domain that has >= 2, and always leaves >= 1 for training
    double fim_rate = 0.0;           // share of fim_domains pieces rewritten as prefix-suffix-middle; 0 = off
    std::vector<std::string> fim_domains = {"code"};
    MalformedPolicy malformed = MalformedPolicy::Skip;

    // Throws moe::Error data.bad_config naming the field.
    void validate() const;
};

}  // namespace moe::train
