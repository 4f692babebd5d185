#include "cuda/bench/bench_cost.h"

namespace moe::bench {

namespace {
constexpr double kBf16 = 2.0, kF32 = 4.0;
}  // namespace

double decode_bytes(const ModelConfig& c, int64_t n, bool fp8_experts) {
    const double d = double(c.hidden_size), H = double(c.num_attention_heads);
    double bytes = d * kBf16 + double(c.vocab_size) * d * kBf16 + d * kF32;  // embedding row, lm_head, final norm
    auto ffn_bytes = [&](double inter) { return 3 * inter * d * kBf16; };
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
        bytes += 2 * d * kF32;  // the two norms
        if (c.is_deepseek()) {
            const double qk = double(c.qk_head_dim()), ql = double(c.q_lora_rank);
            bytes += c.q_lora_rank > 0 ? (ql * d + H * qk * ql) * kBf16 : H * qk * d * kBf16;
            bytes += double(c.kv_lora_rank + c.qk_rope_head_dim) * d * kBf16;
            bytes += H * double(c.qk_nope_head_dim + c.v_head_dim) * double(c.kv_lora_rank) * kBf16;
            bytes += d * H * double(c.v_head_dim) * kBf16;
            bytes += double(n) * double(c.kv_lora_rank + c.qk_rope_head_dim) * kF32;  // latent cache rows
            if (c.is_moe_layer(layer)) {
                bytes += double(c.n_routed_experts) * d * kBf16;  // router gate
                const double routed = double(c.num_experts_per_tok) * ffn_bytes(double(c.moe_intermediate_size));
                bytes += fp8_experts ? routed / kBf16 * (1.0 + 4.0 / (128.0 * 128.0)) : routed;
                if (c.n_shared_experts > 0) bytes += ffn_bytes(double(c.moe_intermediate_size * c.n_shared_experts));
            } else {
                bytes += ffn_bytes(double(c.intermediate_size));
            }
        } else {
            const double D = double(c.head_dim), kv = double(c.num_key_value_heads) * D;
            bytes += (H * D * d + 2 * kv * d + d * H * D) * kBf16 + (H * D + 2 * kv) * kF32;
            bytes += double(n) * 2 * kv * kF32;  // K and V cache rows
            bytes += ffn_bytes(double(c.intermediate_size));
        }
    }
    return bytes;
}

double prefill_flops(const ModelConfig& c, int64_t T) {
    const double t = double(T), d = double(c.hidden_size), H = double(c.num_attention_heads);
    const double pairs = t * (t + 1) / 2;  // causal (query, key) pairs
    double f = 2 * d * double(c.vocab_size);  // lm_head on the last row only
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
        if (c.is_deepseek()) {
            const double qk = double(c.qk_head_dim()), kvl = double(c.kv_lora_rank), ql = double(c.q_lora_rank);
            f += 2 * t * (c.q_lora_rank > 0 ? ql * d + H * qk * ql : H * qk * d);
            f += 2 * t * double(c.kv_lora_rank + c.qk_rope_head_dim) * d;
            f += 2 * t * H * double(c.qk_nope_head_dim + c.v_head_dim) * kvl;  // latent expansion
            f += 2 * pairs * H * (qk + double(c.v_head_dim));
            f += 2 * t * d * H * double(c.v_head_dim);
            if (c.is_moe_layer(layer)) {
                f += 2 * t * double(c.n_routed_experts) * d;
                f += 2 * t * double(c.num_experts_per_tok) * 3 * double(c.moe_intermediate_size) * d;
                if (c.n_shared_experts > 0) f += 2 * t * 3 * double(c.moe_intermediate_size * c.n_shared_experts) * d;
            } else {
                f += 2 * t * 3 * double(c.intermediate_size) * d;
            }
        } else {
            const double D = double(c.head_dim), kv = double(c.num_key_value_heads) * D;
            f += 2 * t * (H * D * d + 2 * kv * d + d * H * D);
            f += 2 * pairs * H * 2 * D;
            f += 2 * t * 3 * double(c.intermediate_size) * d;
        }
    }
    return f;
}

}  // namespace moe::bench
