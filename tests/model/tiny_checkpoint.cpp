#include "tiny_checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace moe::test {

namespace fs = std::filesystem;

void SafetensorsWriter::add(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
                            DType dtype) {
    Entry e{name, dtype, std::move(shape), {}};
    e.bytes.resize(values.size() * dtype_size(dtype));
    for (size_t i = 0; i < values.size(); ++i) {
        if (dtype == DType::F32) {
            std::memcpy(&e.bytes[i * 4], &values[i], 4);
        } else if (dtype == DType::BF16 || dtype == DType::F16) {
            const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
            std::memcpy(&e.bytes[i * 2], &h, 2);
        } else {
            throw std::runtime_error("SafetensorsWriter::add: unsupported dtype");
        }
    }
    entries_.push_back(std::move(e));
}

std::vector<float> SafetensorsWriter::add_fp8(const std::string& name, int64_t rows, int64_t cols,
                                              const std::vector<float>& values, int64_t br, int64_t bc) {
    const int64_t grid_r = (rows + br - 1) / br, grid_c = (cols + bc - 1) / bc;
    std::vector<float> scales(size_t(grid_r * grid_c));
    for (int64_t gi = 0; gi < grid_r; ++gi)
        for (int64_t gj = 0; gj < grid_c; ++gj) {
            float amax = 0;
            for (int64_t i = gi * br; i < std::min(rows, (gi + 1) * br); ++i)
                for (int64_t j = gj * bc; j < std::min(cols, (gj + 1) * bc); ++j)
                    amax = std::max(amax, std::abs(values[size_t(i * cols + j)]));
            scales[size_t(gi * grid_c + gj)] = amax > 0 ? amax / 448.0f : 1.0f;
        }
    Entry e{name, DType::F8_E4M3, {rows, cols}, std::vector<uint8_t>(size_t(rows * cols))};
    std::vector<float> dequant(values.size());
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            const float s = scales[size_t((i / br) * grid_c + j / bc)];
            const uint8_t q = f32_to_fp8_e4m3(values[size_t(i * cols + j)] / s);
            e.bytes[size_t(i * cols + j)] = q;
            dequant[size_t(i * cols + j)] = fp8_e4m3_to_f32(q) * s;
        }
    entries_.push_back(std::move(e));
    add(name + "_scale_inv", {grid_r, grid_c}, scales, DType::F32);
    return dequant;
}

std::vector<std::string> SafetensorsWriter::names() const {
    std::vector<std::string> n;
    for (const Entry& e : entries_) n.push_back(e.name);
    return n;
}

void SafetensorsWriter::write(const std::string& path) const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    uint64_t offset = 0;
    for (const Entry& e : entries_) {
        header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))},
                          {"shape", e.shape},
                          {"data_offsets", {offset, offset + e.bytes.size()}}};
        offset += e.bytes.size();
    }
    std::string text = header.dump();
    while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // the format allows trailing spaces
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = text.size();
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const Entry& e : entries_)
        out.write(reinterpret_cast<const char*>(e.bytes.data()), std::streamsize(e.bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

// Random weights scaled like a trained layer (uniform ±1/sqrt(fan_in)), norms near 1.
class TensorMaker {
public:
    TensorMaker(SafetensorsWriter& w, DType dtype, bool fp8, uint64_t seed, bool fp8_as_f32 = false)
        : w_(w), dtype_(dtype), fp8_(fp8), fp8_as_f32_(fp8_as_f32), rng_(seed) {}

    void linear(const std::string& name, int64_t out, int64_t in, bool quantisable = true) {
        const float a = 1.0f / std::sqrt(float(in));
        const std::vector<float> v = uniform(size_t(out * in), -a, a);
        if (fp8_ && quantisable) {
            w_.add_fp8(name, out, in, v, 16, 16);
        } else if (fp8_as_f32_ && quantisable) {
            SafetensorsWriter scratch;
            w_.add(name, {out, in}, scratch.add_fp8(name, out, in, v, 16, 16), DType::F32);
        } else {
            w_.add(name, {out, in}, v, dtype_);
        }
    }
    void norm(const std::string& name, int64_t n) { w_.add(name, {n}, uniform(size_t(n), 0.8f, 1.2f), dtype_); }
    void vector(const std::string& name, int64_t n, float a, DType dtype) {
        w_.add(name, {n}, uniform(size_t(n), -a, a), dtype);
    }
    void embedding(const std::string& name, int64_t vocab, int64_t hidden) {
        w_.add(name, {vocab, hidden}, uniform(size_t(vocab * hidden), -1.0f, 1.0f), dtype_);
    }

private:
    std::vector<float> uniform(size_t n, float lo, float hi) {
        std::uniform_real_distribution<float> d(lo, hi);
        std::vector<float> v(n);
        for (float& x : v) x = d(rng_);
        return v;
    }
    SafetensorsWriter& w_;
    DType dtype_;
    bool fp8_;
    bool fp8_as_f32_;
    std::mt19937_64 rng_;
};

nlohmann::json deepseek_config(const TinyDeepseekSpec& s) {
    nlohmann::json c = {{"architectures", {s.v2 ? "DeepseekV2ForCausalLM" : "DeepseekV3ForCausalLM"}},
                        {"model_type", s.v2 ? "deepseek_v2" : "deepseek_v3"},
                        {"vocab_size", 96},
                        {"hidden_size", 32},
                        {"intermediate_size", 48},
                        {"moe_intermediate_size", 16},
                        {"num_hidden_layers", 3},
                        {"num_attention_heads", 4},
                        {"num_key_value_heads", 4},
                        {"q_lora_rank", s.q_lora ? nlohmann::json(24) : nlohmann::json(nullptr)},
                        {"kv_lora_rank", 16},
                        {"qk_nope_head_dim", 8},
                        {"qk_rope_head_dim", 8},
                        {"v_head_dim", 12},
                        {"n_routed_experts", 8},
                        {"n_shared_experts", 1},
                        {"num_experts_per_tok", 2},
                        {"first_k_dense_replace", 1},
                        {"moe_layer_freq", 1},
                        {"rms_norm_eps", 1e-6},
                        {"rope_theta", 10000.0},
                        {"max_position_embeddings", 163840},
                        {"tie_word_embeddings", false},
                        {"bos_token_id", 0},
                        {"eos_token_id", 1},
                        {"hidden_act", "silu"},
                        {"attention_bias", false}};
    if (s.v2) {
        c.update({{"n_group", 1},
                  {"topk_group", 1},
                  {"topk_method", "greedy"},
                  {"scoring_func", "softmax"},
                  {"norm_topk_prob", false},
                  {"routed_scaling_factor", 1.0}});
    } else {
        c.update({{"n_group", 4},
                  {"topk_group", 2},
                  {"topk_method", "noaux_tc"},
                  {"scoring_func", "sigmoid"},
                  {"norm_topk_prob", true},
                  {"routed_scaling_factor", 2.5},
                  {"num_nextn_predict_layers", s.mtp ? 1 : 0}});
    }
    if (s.yarn)
        c["rope_scaling"] = {{"type", "yarn"},       {"factor", 40},   {"original_max_position_embeddings", 4096},
                             {"beta_fast", 32},      {"beta_slow", 1}, {"mscale", 1.0},
                             {"mscale_all_dim", 1.0}};
    if (s.fp8)
        c["quantization_config"] = {{"activation_scheme", "dynamic"},
                                    {"fmt", "e4m3"},
                                    {"quant_method", "fp8"},
                                    {"weight_block_size", {16, 16}}};
    return c;
}

void deepseek_layer(TensorMaker& m, const nlohmann::json& c, int64_t L, bool moe) {
    const int64_t d = c["hidden_size"], H = c["num_attention_heads"], nope = c["qk_nope_head_dim"],
                  rope = c["qk_rope_head_dim"], v = c["v_head_dim"], kv = c["kv_lora_rank"];
    const std::string p = "model.layers." + std::to_string(L) + ".";
    m.norm(p + "input_layernorm.weight", d);
    m.norm(p + "post_attention_layernorm.weight", d);
    if (!c["q_lora_rank"].is_null()) {
        const int64_t q = c["q_lora_rank"];
        m.linear(p + "self_attn.q_a_proj.weight", q, d);
        m.norm(p + "self_attn.q_a_layernorm.weight", q);
        m.linear(p + "self_attn.q_b_proj.weight", H * (nope + rope), q);
    } else {
        m.linear(p + "self_attn.q_proj.weight", H * (nope + rope), d);
    }
    m.linear(p + "self_attn.kv_a_proj_with_mqa.weight", kv + rope, d);
    m.norm(p + "self_attn.kv_a_layernorm.weight", kv);
    m.linear(p + "self_attn.kv_b_proj.weight", H * (nope + v), kv);
    m.linear(p + "self_attn.o_proj.weight", d, H * v);
    auto ffn = [&](const std::string& prefix, int64_t inter) {
        m.linear(prefix + ".gate_proj.weight", inter, d);
        m.linear(prefix + ".up_proj.weight", inter, d);
        m.linear(prefix + ".down_proj.weight", d, inter);
    };
    if (!moe) {
        ffn(p + "mlp", c["intermediate_size"]);
        return;
    }
    const int64_t E = c["n_routed_experts"], inter = c["moe_intermediate_size"];
    m.linear(p + "mlp.gate.weight", E, d, false);  // the router is never FP8
    if (c.value("topk_method", "") == "noaux_tc") m.vector(p + "mlp.gate.e_score_correction_bias", E, 0.1f, DType::F32);
    for (int64_t e = 0; e < E; ++e) ffn(p + "mlp.experts." + std::to_string(e), inter);
    ffn(p + "mlp.shared_experts", inter * int64_t(c["n_shared_experts"]));
}

}  // namespace

std::string write_tiny_deepseek(const std::string& dir, const TinyDeepseekSpec& s) {
    const nlohmann::json c = deepseek_config(s);
    SafetensorsWriter w;
    TensorMaker m(w, s.dtype, s.fp8, s.seed, s.fp8_as_f32);
    const int64_t d = c["hidden_size"], vocab = c["vocab_size"], layers = c["num_hidden_layers"];
    m.embedding("model.embed_tokens.weight", vocab, d);
    for (int64_t L = 0; L < layers; ++L) deepseek_layer(m, c, L, L >= int64_t(c["first_k_dense_replace"]));
    m.norm("model.norm.weight", d);
    m.linear("lm_head.weight", vocab, d, false);
    if (!s.v2 && s.mtp) {
        const std::string p = "model.layers." + std::to_string(layers) + ".";
        deepseek_layer(m, c, layers, true);
        m.norm(p + "enorm.weight", d);
        m.norm(p + "hnorm.weight", d);
        m.linear(p + "eh_proj.weight", d, 2 * d, false);
        m.norm(p + "shared_head.norm.weight", d);
        if (s.mtp_copies) {
            m.embedding(p + "embed_tokens.weight", vocab, d);
            m.linear(p + "shared_head.head.weight", vocab, d, false);
        }
    }
    write_text(dir + "/config.json", c.dump(2));
    w.write(dir + "/model.safetensors");
    return c.dump(2);
}

std::string write_tiny_qwen2(const std::string& dir, const TinyQwen2Spec& s) {
    const nlohmann::json c = {{"architectures", {"Qwen2ForCausalLM"}},
                              {"model_type", "qwen2"},
                              {"vocab_size", 80},
                              {"hidden_size", 32},
                              {"intermediate_size", 40},
                              {"num_hidden_layers", 2},
                              {"num_attention_heads", 4},
                              {"num_key_value_heads", 2},
                              {"max_position_embeddings", 2048},
                              {"rms_norm_eps", 1e-6},
                              {"rope_theta", 10000.0},
                              {"tie_word_embeddings", s.tie_word_embeddings},
                              {"bos_token_id", 0},
                              {"eos_token_id", 1},
                              {"hidden_act", "silu"},
                              {"use_sliding_window", false}};
    const int64_t d = 32, H = 4, KV = 2, D = d / H, vocab = 80;
    SafetensorsWriter a, b;
    TensorMaker ma(a, s.dtype, false, s.seed), mb(b, s.dtype, false, s.seed + 1);
    ma.embedding("model.embed_tokens.weight", vocab, d);
    for (int64_t L = 0; L < 2; ++L) {
        TensorMaker& m = (s.sharded && L == 1) ? mb : ma;
        const std::string p = "model.layers." + std::to_string(L) + ".";
        m.norm(p + "input_layernorm.weight", d);
        m.norm(p + "post_attention_layernorm.weight", d);
        m.linear(p + "self_attn.q_proj.weight", H * D, d);
        m.vector(p + "self_attn.q_proj.bias", H * D, 0.5f, s.dtype);
        m.linear(p + "self_attn.k_proj.weight", KV * D, d);
        m.vector(p + "self_attn.k_proj.bias", KV * D, 0.5f, s.dtype);
        m.linear(p + "self_attn.v_proj.weight", KV * D, d);
        m.vector(p + "self_attn.v_proj.bias", KV * D, 0.5f, s.dtype);
        m.linear(p + "self_attn.o_proj.weight", d, H * D);
        m.linear(p + "mlp.gate_proj.weight", 40, d);
        m.linear(p + "mlp.up_proj.weight", 40, d);
        m.linear(p + "mlp.down_proj.weight", d, 40);
    }
    TensorMaker& last = s.sharded ? mb : ma;
    last.norm("model.norm.weight", d);
    if (!s.tie_word_embeddings) last.linear("lm_head.weight", vocab, d);
    write_text(dir + "/config.json", c.dump(2));
    if (!s.sharded) {
        a.write(dir + "/model.safetensors");
        return c.dump(2);
    }
    const std::string f1 = "model-00001-of-00002.safetensors", f2 = "model-00002-of-00002.safetensors";
    a.write(dir + "/" + f1);
    b.write(dir + "/" + f2);
    nlohmann::json map = nlohmann::json::object();
    for (const auto& n : a.names()) map[n] = f1;
    for (const auto& n : b.names()) map[n] = f2;
    write_text(dir + "/model.safetensors.index.json",
               nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", map}}.dump(2));
    return c.dump(2);
}

}  // namespace moe::test
