// Prompts drawn from training data, per domain: what `moe-engine distill` continues with the model's
// own greedy decoding (self-distillation of MTP heads) and what measures acceptance per domain.
// Plain text files give windows starting at a line start; JSONL lines give their "text" or, for a
// chat, the first user message. Deterministic for a seed on every machine (DataRng).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/data_config.h"

namespace moe {
class Tokenizer;
}

namespace moe::train {

struct DomainPrompt {
    std::string domain;
    std::string text;  // at most max_tokens tokens of the source, decoded back to text
};

struct PromptSampling {
    int64_t per_domain = 32;   // prompts per domain (fewer when a domain has fewer distinct starts)
    int64_t max_tokens = 32;   // tokens per prompt at most
    uint64_t seed = 0;
};

// Domains in order of first appearance, prompts of a domain in the order drawn. Throws moe::Error
// data.missing_source / data.empty_source (list_source_files) and data.no_prompts naming the
// source when no domain yields a prompt.
std::vector<DomainPrompt> sample_prompts(const std::vector<DataSourceSpec>& sources, const Tokenizer& tokenizer,
                                         const PromptSampling& sampling);

}  // namespace moe::train
