#include "cuda/bench/train_shapes.h"

#include "core/error.h"
#include "core/strict_json.h"
#include "cuda/bench/bench_shapes.h"

namespace moe::bench {

namespace {

// ~100M parameters without the MTP module (~106M with it); DeepSeek-V3's structure at small
// width: MLA with a q LoRA, grouped sigmoid routing with the correction bias, a shared expert.
constexpr const char* kFull100mConfig = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "hidden_size": 512, "intermediate_size": 1536, "moe_intermediate_size": 192, "num_hidden_layers": 12,
  "num_attention_heads": 8, "num_key_value_heads": 8, "q_lora_rank": 256, "kv_lora_rank": 128,
  "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64, "n_routed_experts": 16,
  "n_shared_experts": 1, "num_experts_per_tok": 4, "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc",
  "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 2.5, "first_k_dense_replace": 1,
  "moe_layer_freq": 1, "num_nextn_predict_layers": 1, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "max_position_embeddings": 4096, "vocab_size": 32000, "bos_token_id": 0, "eos_token_id": 1,
  "tie_word_embeddings": false, "hidden_act": "silu", "attention_bias": false})";

TrainShape lora_moonlight() {
    TrainShape s;
    s.name = "lora-moonlight";
    s.model = "moonlight-16b-a3b";
    s.mode = "lora";
    s.config = builtin_shape(s.model).config;
    s.lora.rank = 16;
    s.lora.alpha = 32.0f;
    s.lora.targets = {"attention", "shared_experts", "experts"};
    s.adamw.lr = 2e-4f;
    s.adamw.beta1 = 0.9f;
    s.adamw.beta2 = 0.95f;
    s.adamw.weight_decay = 0.0f;
    s.adamw.clip = 1.0f;
    return s;  // no MTP module in Moonlight; balance loss and bias update off (the router is frozen)
}

TrainShape full_100m() {
    TrainShape s;
    s.name = "full-100m";
    s.model = "deepseek-v3-100m";
    s.mode = "full";
    const std::string file = "<built-in full-100m config>";
    s.config = parse_model_config(parse_strict_json(kFull100mConfig, file, "config"), file);
    s.objectives.mtp_lambda = 0.3f;       // DeepSeek-V3's λ for the first 10T tokens
    s.objectives.balance_alpha = 1e-4f;   // its sequence-wise balance loss α
    s.objectives.bias_gamma = 1e-3f;      // its bias update speed γ
    s.adamw.lr = 1e-3f;
    s.adamw.beta1 = 0.9f;
    s.adamw.beta2 = 0.95f;
    s.adamw.weight_decay = 0.1f;
    s.adamw.clip = 1.0f;
    return s;
}

}  // namespace

const std::vector<std::string>& train_shape_names() {
    static const std::vector<std::string> names = {"lora-moonlight", "full-100m"};
    return names;
}

TrainShape train_shape(const std::string& name) {
    if (name == "lora-moonlight") return lora_moonlight();
    if (name == "full-100m") return full_100m();
    std::string known;
    for (const auto& n : train_shape_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("bench.unknown_shape", "", "unknown training shape '" + name + "' (known: " + known + ")");
}

train::TrainableSpec train_spec(const TrainShape& shape, uint64_t seed) {
    train::TrainableSpec spec;
    spec.config = shape.config;
    spec.init_seed = seed;
    spec.lora = shape.lora;
    spec.lora.seed = seed + 1;
    if (shape.mode == "lora") spec.trainable = [](const std::string&) { return false; };
    return spec;
}

}  // namespace moe::bench
