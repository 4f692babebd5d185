#include "model/deepseek_weights.h"

#include <spdlog/spdlog.h>

#include <string>

#include "io/checkpoint.h"
#include "model/weight_source.h"

namespace moe {

namespace {

// Loads a DeepSeek graph's weights by checkpoint name from one source.
class Loader {
public:
    explicit Loader(WeightSource& src) : src_(src), c_(src.config()) {}

    FfnWeights ffn(const std::string& prefix, int64_t inter) {
        return FfnWeights{src_.matrix(prefix + ".gate_proj.weight", inter, c_.hidden_size),
                          src_.matrix(prefix + ".up_proj.weight", inter, c_.hidden_size),
                          src_.matrix(prefix + ".down_proj.weight", c_.hidden_size, inter)};
    }

    MlaWeights attention(const std::string& p) {
        const int64_t H = c_.num_attention_heads, d = c_.hidden_size;
        MlaWeights w;
        w.q_lora = c_.q_lora_rank > 0;
        if (w.q_lora) {
            w.q_a = src_.matrix(p + "q_a_proj.weight", c_.q_lora_rank, d);
            w.q_a_norm = src_.vector(p + "q_a_layernorm.weight", c_.q_lora_rank);
            w.q_b = src_.matrix(p + "q_b_proj.weight", H * c_.qk_head_dim(), c_.q_lora_rank);
        } else {
            w.q = src_.matrix(p + "q_proj.weight", H * c_.qk_head_dim(), d);
        }
        w.kv_a = src_.matrix(p + "kv_a_proj_with_mqa.weight", c_.kv_lora_rank + c_.qk_rope_head_dim, d);
        w.kv_a_norm = src_.vector(p + "kv_a_layernorm.weight", c_.kv_lora_rank);
        w.kv_b = src_.matrix(p + "kv_b_proj.weight", H * (c_.qk_nope_head_dim + c_.v_head_dim), c_.kv_lora_rank);
        w.o = src_.matrix(p + "o_proj.weight", d, H * c_.v_head_dim);
        return w;
    }

    MoeWeights moe(const std::string& p) {
        const int64_t E = c_.n_routed_experts;
        MoeWeights w;
        w.gate = src_.matrix(p + "gate.weight", E, c_.hidden_size);
        if (c_.has_routing_bias()) {
            w.bias_host = src_.routing_bias(p + "gate.e_score_correction_bias", E);
            w.bias = src_.backend().upload(w.bias_host, 1, E);
        }
        w.experts = src_.experts(p + "experts.", E, c_.moe_intermediate_size, c_.hidden_size);
        if (c_.n_shared_experts > 0)
            w.shared = ffn(p + "shared_experts", c_.moe_intermediate_size * c_.n_shared_experts);
        return w;
    }

    DecoderLayerWeights layer(int64_t index) {
        const std::string p = "model.layers." + std::to_string(index) + ".";
        DecoderLayerWeights w;
        w.index = index;
        w.input_norm = src_.vector(p + "input_layernorm.weight", c_.hidden_size);
        w.post_norm = src_.vector(p + "post_attention_layernorm.weight", c_.hidden_size);
        w.attn = attention(p + "self_attn.");
        w.is_moe = c_.is_moe_layer(index);
        if (w.is_moe)
            w.moe = moe(p + "mlp.");
        else
            w.mlp = ffn(p + "mlp", c_.intermediate_size);
        return w;
    }

    // MTP module k is stored as layer num_hidden_layers + k. Its embedding is the main model's
    // (one shared tensor even where the checkpoint stores a copy); its head is its own
    // shared_head.head when stored, else the main lm_head.
    MtpWeights mtp(int64_t k, const Weight& main_embed, const Weight& main_head) {
        const int64_t index = c_.num_hidden_layers + k;
        const std::string p = "model.layers." + std::to_string(index) + ".";
        const int64_t d = c_.hidden_size, vocab = c_.vocab_size;
        MtpWeights w;
        w.enorm = src_.vector(p + "enorm.weight", d);
        w.hnorm = src_.vector(p + "hnorm.weight", d);
        w.eh_proj = src_.matrix(p + "eh_proj.weight", d, 2 * d);
        w.layer = layer(index);
        w.embed = src_.has(p + "embed_tokens.weight")
                      ? src_.alias(p + "embed_tokens.weight", "model.embed_tokens.weight", main_embed)
                      : main_embed;
        w.head_norm = src_.vector(p + "shared_head.norm.weight", d);
        w.head = src_.has(p + "shared_head.head.weight") ? src_.matrix(p + "shared_head.head.weight", vocab, d)
                                                         : main_head;
        return w;
    }

    std::vector<MtpWeights> mtp_modules(const Weight& main_embed, const Weight& main_head) {
        std::vector<MtpWeights> modules;
        if (c_.num_nextn_predict_layers <= 0) return modules;
        const int64_t stored = src_.mtp_layers();
        if (stored == 0)  // converted checkpoints often drop the MTP layers
            spdlog::warn("config has num_nextn_predict_layers={} but the checkpoint stores no MTP layer",
                         c_.num_nextn_predict_layers);
        for (int64_t k = 0; k < stored; ++k) modules.push_back(mtp(k, main_embed, main_head));
        return modules;
    }

private:
    WeightSource& src_;
    const ModelConfig& c_;
};

}  // namespace

DeepseekWeights load_deepseek_weights(WeightSource& src) {
    const ModelConfig& c = src.config();
    Loader load(src);
    DeepseekWeights w;
    w.embed = src.matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) w.layers.push_back(load.layer(i));
    w.final_norm = src.vector("model.norm.weight", c.hidden_size);
    const bool tied = c.tie_word_embeddings && !src.has("lm_head.weight");
    w.lm_head = tied ? w.embed : src.matrix("lm_head.weight", c.vocab_size, c.hidden_size);
    w.mtp = load.mtp_modules(w.embed, w.lm_head);
    return w;
}

DeepseekWeights load_deepseek_weights(const Checkpoint& checkpoint, Backend& backend) {
    CheckpointSource src(checkpoint, backend);
    return load_deepseek_weights(src);
}

}  // namespace moe
