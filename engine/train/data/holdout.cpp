#include "train/data/holdout.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "train/data/data_rng.h"

namespace moe::train {

std::vector<bool> choose_holdout(const std::vector<int32_t>& document_domain,
                                 const std::vector<std::string>& domain_names, double fraction, uint64_t seed) {
    std::vector<bool> held(document_domain.size(), false);
    if (fraction <= 0.0) return held;
    std::map<int32_t, std::vector<size_t>> by_domain;
    for (size_t d = 0; d < document_domain.size(); ++d) by_domain[document_domain[d]].push_back(d);
    for (auto& [domain, docs] : by_domain) {
        const size_t n = docs.size();
        if (n < 2) continue;
        size_t k = size_t(std::llround(fraction * double(n)));
        k = std::clamp<size_t>(k, 1, n - 1);
        DataRng rng(derive_seed(seed, "holdout/" + domain_names[size_t(domain)], 0));
        shuffle_in_place(docs, rng);
        for (size_t i = 0; i < k; ++i) held[docs[i]] = true;
    }
    return held;
}

}  // namespace moe::train
