// The FLOPs of a training step, for tokens/s → MFU: 6 × (matmul parameters one token touches:
// attention projections, dense or shared FFNs, the top_k routed experts, the router, lm_head and
// the MTP modules) + the attention products (forward 2 · ctx · H · (qk + v) per token with the
// causal mean context ctx = (T + 1) / 2; backward twice that). Routed experts count only the
// top_k chosen ones — "active-expert FLOPs".
#pragma once

#include <cstdint>

#include "io/model_config.h"

namespace moe::train {

// Parameters of the matmuls one token passes through (forward), MTP modules included when `mtp`.
double active_matmul_params(const ModelConfig& c, bool mtp);
// Training FLOPs per token at sequence length T.
double train_flops_per_token(const ModelConfig& c, int64_t seq_len, bool mtp);

}  // namespace moe::train
