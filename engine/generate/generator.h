// Autoregressive generation over a Model: prefill the prompt, then decode one token at a time
// through the KV cache. Reuses the cached prefix when a new prompt extends the previous sequence
// (chat turns), so only the new tokens are prefilled. A Generator assumes it is the only writer
// of its model's cache between calls: after running the model directly, call reset().
// Greedy decoding without a repetition penalty chooses each token on the backend
// (Model::forward_greedy): a GPU step then reads back the chosen id, not the [1, vocab] logits.
// Every other plain step does too where the model samples on the backend (Model::forward_sample,
// the CUDA backend): the same processing as the host Sampler, drawn on the device from a stream
// keyed by the seed and the token's index; elsewhere the step's logits come back and the host
// Sampler draws. The first token (from the prompt's logits) is always drawn on the host.
// With GenerationOptions::speculative on, a model with MTP modules decodes in speculative steps
// (generate/speculative.h): the same tokens when greedy, the same distribution when sampling.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "generate/sampler.h"
#include "generate/token_policy.h"
#include "generate/speculative.h"
#include "generate/speculative_stats.h"
#include "generate/vocabulary.h"

namespace moe {

class Model;

enum class StopReason { Eos, MaxTokens, Callback, ContextFull };
const char* stop_reason_name(StopReason r);

struct GenerationOptions {
    int64_t max_new_tokens = 256;
    // Stop after emitting any of these (the EOS token is included in the output, as HF does).
    // Empty: the model config's eos_token_ids.
    std::vector<int32_t> eos_token_ids;
    bool ignore_eos = false;  // benchmarks and fixed-length parity runs
    // The ids that may be generated (generate/vocabulary.h): set it with vocabulary_mask(config,
    // tokenizer). The default masks nothing (ids without a token could then be produced).
    VocabularyMask vocabulary;
    SamplingParams sampling;
    // Speculative decoding with the model's MTP modules. Needs a model with MTP modules (else
    // "generate.no_mtp"); draft_tokens above the modules present is clamped.
    SpeculativeOptions speculative;
    // Called after each speculative step with the request's counters so far (live telemetry).
    std::function<void(const SpeculativeStats&)> on_speculative_step;
    // Called with each new token id; return false to stop after it.
    std::function<bool(int32_t)> on_token;
    // Polled before each decode step; return true to stop (e.g. a cancelled request).
    std::function<bool()> should_stop;
};

struct GenerationResult {
    std::vector<int32_t> tokens;  // new tokens only
    StopReason stop_reason = StopReason::MaxTokens;
    int64_t prompt_tokens = 0;
    int64_t prefilled_tokens = 0;  // prompt tokens actually run (the rest came from the cache)
    double prefill_seconds = 0;    // prompt forward, up to the first token's logits
    double decode_seconds = 0;     // all later forwards
    double decode_tokens_per_second() const;
    // Speculative decoding (when it was on): the acceptance counters, the drafts per step used,
    // and per new token whether it was a draft the verification accepted (else the target chose it).
    bool speculative = false;
    int64_t draft_tokens = 0;
    SpeculativeStats speculation;
    std::vector<bool> drafted;
};

class Generator {
public:
    explicit Generator(Model& model);

    // prompt must be non-empty. Continues from the cached prefix shared with the previous sequence.
    GenerationResult generate(std::span<const int32_t> prompt, const GenerationOptions& options);

    // Forget the cached sequence (the next generate prefills everything) and the MTP modules' state.
    void reset();
    // The token sequence the model's KV cache currently holds.
    const std::vector<int32_t>& cached_sequence() const { return sequence_; }
    // What the MTP modules' caches were computed for (speculative decoding).
    const MtpDrafter& drafter() const { return drafter_; }

private:
    // Runs the part of `prompt` not already cached; returns the last position's logits.
    std::vector<float> prefill(std::span<const int32_t> prompt, GenerationResult& result);

    // One plain decode step after `last`: runs it and returns the next token.
    // draw: the index of this token in the generation (the device sampler's random stream).
    int32_t plain_step(int32_t last, TokenPolicy& policy, std::span<const int32_t> history, uint64_t draw);
    // Drafts for the next step: the configured k, cut so the step cannot overrun max_new_tokens or
    // the context (0: take a plain step).
    int64_t step_drafts(int64_t k, int64_t produced, int64_t max_new) const;

    Model& model_;
    std::vector<int32_t> sequence_;  // tokens whose K/V sit in the cache, in order
    MtpDrafter drafter_;             // which positions of the MTP caches fit sequence_
};

}  // namespace moe
