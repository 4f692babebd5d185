#include "train/flops.h"

namespace moe::train {

namespace {

double attention_params(const ModelConfig& c) {
    const double d = double(c.hidden_size), H = double(c.num_attention_heads);
    if (!c.is_deepseek()) {
        const double D = double(c.head_dim), kv = double(c.num_key_value_heads) * D;
        return d * H * D + 2 * d * kv + H * D * d;
    }
    const double qk = double(c.qk_head_dim());
    double p = c.q_lora_rank > 0 ? d * double(c.q_lora_rank) + double(c.q_lora_rank) * H * qk : d * H * qk;
    p += d * double(c.kv_lora_rank + c.qk_rope_head_dim);
    p += double(c.kv_lora_rank) * H * double(c.qk_nope_head_dim + c.v_head_dim);
    p += H * double(c.v_head_dim) * d;
    return p;
}

double ffn_params(const ModelConfig& c, int64_t layer) {
    const double d = double(c.hidden_size);
    if (!c.is_deepseek() || !c.is_moe_layer(layer)) return 3 * d * double(c.intermediate_size);
    const double expert = 3 * d * double(c.moe_intermediate_size);
    return double(c.num_experts_per_tok) * expert + double(c.n_shared_experts) * expert +
           d * double(c.n_routed_experts);
}

double attention_width(const ModelConfig& c) {
    return c.is_deepseek() ? double(c.qk_head_dim() + c.v_head_dim) : 2.0 * double(c.head_dim);
}

}  // namespace

double active_matmul_params(const ModelConfig& c, bool mtp) {
    const double d = double(c.hidden_size);
    double p = d * double(c.vocab_size);  // lm_head (the embedding is a lookup)
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) p += attention_params(c) + ffn_params(c, l);
    if (mtp)
        for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k)
            p += 2 * d * d + attention_params(c) + ffn_params(c, c.num_hidden_layers + k) + d * double(c.vocab_size);
    return p;
}

double train_flops_per_token(const ModelConfig& c, int64_t T, bool mtp) {
    const double layers = double(c.num_hidden_layers + (mtp ? c.num_nextn_predict_layers : 0));
    const double ctx = (double(T) + 1.0) / 2.0;
    const double attention = 2.0 * ctx * double(c.num_attention_heads) * attention_width(c) * layers;
    return 6.0 * active_matmul_params(c, mtp) + 3.0 * attention;
}

}  // namespace moe::train
