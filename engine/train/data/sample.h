// One training sample: token ids with a per-token loss flag, before packing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::train {

struct Sample {
    std::vector<int32_t> tokens;     // [n]
    std::vector<uint8_t> is_target;  // [n] 1 when token j (j >= 1) is predicted from token j-1 and carries loss;
                                     //     is_target[0] is always 0 (nothing in the sample comes before it)
    int32_t domain = -1;             // index into Dataset::domain_names()
    std::string origin;              // "file:line" where the sample starts
    int64_t document = -1;           // the conversation or document it came from: the held-out split keeps
                                     // every piece of one document on the same side

    int64_t size() const { return int64_t(tokens.size()); }
    int64_t loss_tokens() const {
        int64_t n = 0;
        for (uint8_t t : is_target) n += t;
        return n;
    }
};

}  // namespace moe::train
