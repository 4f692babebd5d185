#include "model/qwen2_weights.h"

#include <string>

#include "model/weight_source.h"

namespace moe {

Qwen2Weights load_qwen2_weights(WeightSource& src) {
    const ModelConfig& c = src.config();
    const int64_t d = c.hidden_size, D = c.head_dim;
    const int64_t q_out = c.num_attention_heads * D, kv_out = c.num_key_value_heads * D;
    Qwen2Weights w;
    w.embed = src.matrix("model.embed_tokens.weight", c.vocab_size, d);
    w.final_norm = src.vector("model.norm.weight", d);
    const bool tied = c.tie_word_embeddings && !src.has("lm_head.weight");
    w.lm_head = tied ? w.embed : src.matrix("lm_head.weight", c.vocab_size, d);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        GqaLayerWeights l;
        l.input_norm = src.vector(p + "input_layernorm.weight", d);
        l.post_norm = src.vector(p + "post_attention_layernorm.weight", d);
        l.q = src.matrix(p + "self_attn.q_proj.weight", q_out, d);
        l.k = src.matrix(p + "self_attn.k_proj.weight", kv_out, d);
        l.v = src.matrix(p + "self_attn.v_proj.weight", kv_out, d);
        l.o = src.matrix(p + "self_attn.o_proj.weight", d, q_out);
        l.q_bias = src.vector(p + "self_attn.q_proj.bias", q_out);
        l.k_bias = src.vector(p + "self_attn.k_proj.bias", kv_out);
        l.v_bias = src.vector(p + "self_attn.v_proj.bias", kv_out);
        l.mlp = FfnWeights{src.matrix(p + "mlp.gate_proj.weight", c.intermediate_size, d),
                           src.matrix(p + "mlp.up_proj.weight", c.intermediate_size, d),
                           src.matrix(p + "mlp.down_proj.weight", d, c.intermediate_size)};
        w.layers.push_back(std::move(l));
    }
    return w;
}

}  // namespace moe
