// Speculative decoding with the model's own MTP modules (shared docs/deepseek-architecture.md §4,
// docs/architecture.md "Speculative decoding"). One step, with t_0..t_N confirmed (t_N emitted,
// not yet run by the main model, whose cache holds t_0..t_{N-1}):
//   1. draft   module j (0-based, chained) runs at position N-1 on level j's hidden state (the main
//              model's for j = 0, module j-1's block output after) and the token at N+j (t_N,
//              then the drafts so far) and proposes the token at N+j+1: k drafts take k modules.
//              A module first catches up on the positions it has not computed for this sequence.
//   2. verify  one main forward over [t_N, d_1 .. d_k] at positions N..N+k: the target's choice
//              after every prefix of the drafts.
//   3. accept  greedy keeps draft i while it equals the target's argmax. Sampling keeps it with
//              probability min(1, p(d)/q(d)) and at the first rejection draws from the normalised
//              residual max(0, p - q) (Leviathan et al. 2023; Chen et al. 2023), so every emitted
//              token is distributed as the target's. The target's next token follows the kept
//              drafts (the bonus): each step emits 1..k+1 tokens.
//   4. roll back  the main cache keeps the positions of the emitted tokens' inputs; the routing of
//              the other verify rows is dropped (RoutingTrace::commit_held); a module's cache counts
//              as valid only for positions computed from tokens that stayed in the sequence.
// Greedy therefore emits exactly the tokens plain greedy decoding emits whenever the batched
// verify forward's argmax equals the one-token step's (always on the CPU reference, whose ops
// compute each row independently of the others).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "generate/speculative_stats.h"
#include "generate/token_policy.h"

namespace moe {

class Model;

struct SpeculativeOptions {
    bool enabled = false;
    int64_t draft_tokens = 0;  // drafts per step: 1..the model's MTP modules; 0 = one per module
};

// The draft length a model allows: `requested` (0 = all modules) clamped to 1..modules.
// `clamped` (optional) says whether a request above the modules present was cut down.
int64_t effective_draft_tokens(int64_t requested, int64_t modules, bool* clamped = nullptr);

// The MTP modules' side of speculative decoding: which positions of each module's cache are still
// valid for the sequence being decoded, and the chained drafts. Lives as long as the model's
// caches it describes (the Generator keeps one beside its cached sequence).
class MtpDrafter {
public:
    struct Drafts {
        std::vector<int32_t> tokens;         // d_1 .. d_k
        std::vector<std::vector<float>> q;   // per draft: the distribution it was drawn from (sampling only)
    };
    // confirmed = t_0 .. t_N (the model's main cache holds the first N); history: what the
    // repetition penalty sees before the first draft (prompt + emitted tokens).
    Drafts draft(Model& model, std::span<const int32_t> confirmed, int64_t k, TokenPolicy& policy,
                 std::span<const int32_t> history);
    void reset() { basis_.clear(); }

    // Positions [0, result) of module j's cache that were computed for a sequence agreeing with
    // `sequence` on every token they depend on (module j at position i reads tokens 0..i+j+1).
    int64_t valid_positions(const Model& model, size_t j, std::span<const int32_t> sequence) const;

private:
    std::vector<std::vector<int32_t>> basis_;  // per module: the sequence its cache was last computed for
};

// One speculative step of k drafts (1 <= k <= the model's modules; position N + k must fit the
// context). `sequence` holds the tokens in the main cache (t_0..t_{N-1}) and gains the inputs of
// the emitted tokens; `last` is t_N; `history` is what the repetition penalty sees (prompt and
// emitted tokens, t_N included; read before the first emit). Tokens go out through
// emit(token, drafted), which returns false to stop: the step then ends after that token, and the
// caches and routing keep only what led to it. Returns false when emit did.
struct SpeculativeStepContext {
    Model& model;
    std::vector<int32_t>& sequence;
    MtpDrafter& drafter;
    TokenPolicy& policy;
    SpeculativeStats& stats;
    std::function<bool(int32_t token, bool drafted)> emit;
};
bool speculative_step(SpeculativeStepContext& c, int32_t last, std::span<const int32_t> history, int64_t k);

}  // namespace moe
