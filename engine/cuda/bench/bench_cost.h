// What one inference step of a config must do, for `moe-engine bench`'s fractions of the measured
// ceilings (docs/performance.md says how each number is counted). Plain functions of the config:
// the same model code runs whatever the weights' origin, so the cost is the config's.
#pragma once

#include <cstdint>

#include "io/model_config.h"

namespace moe::bench {

// Bytes one batch-1 decode step must read at context n: every weight it touches once (bf16; the
// top_k experts of each MoE layer only; f32 norms and biases) plus the KV cache rows 0..n (f32).
// Activations are not counted. fp8_experts: routed experts 1 byte per weight + one f32 scale per
// 128x128 block.
double decode_bytes(const ModelConfig& config, int64_t n, bool fp8_experts = false);
// Forward flops of T tokens from position 0 with the logits of the last row only (2 per
// multiply-add; causal attention; top_k routed experts, not the unused ones).
double prefill_flops(const ModelConfig& config, int64_t T);

}  // namespace moe::bench
