// The held-out split: whole documents (a conversation, a text file or JSONL line with all its
// pieces) per domain, drawn from the seed, so held-out text never leaks into training through a
// sibling piece. Tested in tests/train_data/dataset_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moe::train {

// document_domain: [documents] index into domain_names. Returns [documents] true = held out.
// Per domain with n documents: k = round(fraction * n), at least 1 when fraction > 0 and n >= 2,
// at most n - 1 (training keeps one). The k are a uniform draw from a stream named after the
// domain, so adding another domain to the data does not change which documents are held out.
std::vector<bool> choose_holdout(const std::vector<int32_t>& document_domain,
                                 const std::vector<std::string>& domain_names, double fraction, uint64_t seed);

}  // namespace moe::train
