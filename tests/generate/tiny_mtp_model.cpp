#include "tiny_mtp_model.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace moe::test {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

ModelConfig tiny_mtp_config(const TinyMtpSpec& s) {
    ModelConfig c;
    c.arch = s.v2 ? Architecture::DeepseekV2 : Architecture::DeepseekV3;
    c.model_type = s.v2 ? "deepseek_v2" : "deepseek_v3";
    c.vocab_size = s.vocab;
    c.hidden_size = 24;
    c.intermediate_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 256;
    c.rms_norm_eps = 1e-6;
    c.q_lora_rank = s.v2 ? 0 : 16;
    c.kv_lora_rank = 12;
    c.qk_nope_head_dim = 8;
    c.qk_rope_head_dim = 4;
    c.v_head_dim = 6;
    c.head_dim = 4;
    c.n_routed_experts = 8;
    c.n_shared_experts = 1;
    c.num_experts_per_tok = 2;
    c.moe_intermediate_size = 8;
    c.first_k_dense_replace = 1;
    c.n_group = s.v2 ? 1 : 4;
    c.topk_group = s.v2 ? 1 : 2;
    c.scoring_func = s.v2 ? ScoringFunc::Softmax : ScoringFunc::Sigmoid;
    c.topk_method = s.v2 ? TopkMethod::Greedy : TopkMethod::NoauxTc;
    c.norm_topk_prob = !s.v2;
    c.routed_scaling_factor = s.v2 ? 1.0 : 2.5;
    c.num_nextn_predict_layers = s.mtp_modules;
    if (!s.v2) {
        c.rope.type = "yarn";
        c.rope.factor = 2.0;
        c.rope.original_max_position_embeddings = 128;
        c.rope.mscale = 1.0;
        c.rope.mscale_all_dim = 1.0;
    }
    c.eos_token_ids = {};  // the tests decode fixed lengths
    return c;
}

PredictableSource::PredictableSource(const TinyMtpSpec& spec, Backend& backend)
    : spec_(spec), inner_(tiny_mtp_config(spec), backend, spec.seed) {}

Weight PredictableSource::matrix(const std::string& name, int64_t rows, int64_t cols) {
    Backend& be = inner_.backend();
    if (ends_with(name, "o_proj.weight") || ends_with(name, "down_proj.weight"))
        return be.random_weight(rows, cols, tensor_seed(spec_.seed, name),
                                random_init_scale(name, cols).scale * spec_.residual_scale);
    if (ends_with(name, "eh_proj.weight")) {  // [hidden, 2 * hidden]: [I | 0] + noise
        std::mt19937 rng(uint32_t(tensor_seed(spec_.seed, name)));
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        const float noise = spec_.eh_noise * std::sqrt(3.0f / float(cols));
        std::vector<float> w(size_t(rows * cols));
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) w[size_t(r * cols + c)] = (r == c ? 1.0f : 0.0f) + noise * u(rng);
        return be.weight_from_f32(w, rows, cols);
    }
    return inner_.matrix(name, rows, cols);
}

ExpertSet PredictableSource::experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) {
    return inner_.backend().random_expert_set(n_experts, hidden, inter, tensor_seed(spec_.seed, prefix),
                                              std::sqrt(3.0f / float(hidden)) * spec_.residual_scale);
}

std::unique_ptr<Model> load_tiny_mtp_model(const TinyMtpSpec& spec, Backend& backend) {
    PredictableSource source(spec, backend);
    return load_model(source, ModelOptions{spec.max_context});
}

std::unique_ptr<TinyMtpModel> make_tiny_mtp_model(const TinyMtpSpec& spec) {
    auto m = std::make_unique<TinyMtpModel>();
    m->model = load_tiny_mtp_model(spec, m->backend);
    return m;
}

}  // namespace moe::test
