// `moe-engine bench --speculative`: plain and speculative decoding of the same prompts on the same
// model in one run -- decode tokens/s of each, the speed-up, acceptance per draft position, mean
// accepted length, and whether greedy speculation emitted exactly the plain tokens. Every
// generation starts from an empty cache and runs a fixed number of tokens (EOS ignored), so both
// decode the same positions; one untimed warm-up generation of each kind goes first (a GPU
// backend records its decode graphs there). Backend-agnostic: the CPU reference runs it too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "generate/sampler.h"
#include "generate/vocabulary.h"

namespace moe {

class Model;

struct BenchPrompt {
    std::string label;  // the domain or a name, for the table
    std::vector<int32_t> tokens;
};

struct SpeculativeBenchOptions {
    int64_t decode_tokens = 64;  // new tokens per generation
    int64_t draft_tokens = 0;    // 0: one per MTP module
    SamplingParams sampling;     // greedy unless set otherwise
    VocabularyMask vocabulary;
    // Each table line as it is measured (stdout in the CLI).
    std::function<void(const std::string&)> on_line;
};

// Throws "generate.no_mtp" for a model without MTP modules. The report:
// {"draft_tokens", "mtp_modules", "decode_tokens", "greedy", "plain_tokens_per_second",
//  "speculative_tokens_per_second", "speedup", "greedy_exact", "speculative": {counters},
//  "prompts": [{"label", "prompt_tokens", "plain_tokens_per_second", "speculative_tokens_per_second",
//               "speedup", "greedy_exact", "speculative"}]}
Json run_speculative_bench(Model& model, const std::vector<BenchPrompt>& prompts, SpeculativeBenchOptions options);

}  // namespace moe
