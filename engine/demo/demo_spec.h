// The untrained demo model (`demo --untrained`): a tiny DeepSeek-V3-architecture checkpoint with
// deterministic pseudo-random weights. The window opens the trained demo (demo_model.h); this one is
// the baseline its routing is compared with, and a fast model for tests. Its text is gibberish; its
// routing is the real computation over its weights.
//
// Shape (why): 8 layers with the first dense, 64 routed experts in 8 groups (top-4 groups), 6 per
// token plus 1 shared, MLA with q_lora 96 / kv_lora 64 / rope 32 / nope 32 / v 32 over 4 heads,
// 1 MTP layer: every DeepSeek-V3 feature the workbench shows, and a 7 × 64 heatmap worth looking at.
// Hidden 256 with expert width 64 keeps the file at ~54 MB and decode far above 40 tokens/s on two
// CPU cores (~7 M multiply-adds per token).
#pragma once

#include <cstdint>

#include "core/strict_json.h"

namespace moe::demo {

// Bump when the weights, config or tokenizer change: an older cached copy is then rewritten.
inline constexpr int kDemoVersion = 1;
inline constexpr uint64_t kDemoSeed = 0x5EED'DEE9'5EE4'0003ull;

struct DemoShape {
    int64_t vocab = 512;  // the 500-entry tiny BPE (+ padding, as real checkpoints pad the embedding)
    int64_t hidden = 256;
    int64_t dense_intermediate = 512;
    int64_t layers = 8;
    int64_t first_k_dense = 1;
    int64_t heads = 4;
    int64_t q_lora = 96;
    int64_t kv_lora = 64;
    int64_t qk_nope = 32;
    int64_t qk_rope = 32;
    int64_t v_head = 32;
    int64_t experts = 64;
    int64_t experts_per_tok = 6;
    int64_t groups = 8;
    int64_t topk_groups = 4;
    int64_t shared_experts = 1;
    int64_t moe_intermediate = 64;
    int64_t mtp_layers = 1;
    int64_t max_positions = 4096;
};

// config.json of the demo model (sorted keys, so its text is the same every time).
Json demo_config(const DemoShape& s = {});

}  // namespace moe::demo
