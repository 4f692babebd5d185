#include "demo/demo_weights.h"

#include <cmath>
#include <cstring>

namespace moe::demo {
namespace {

// Uniform in [-a, a] has standard deviation a / sqrt(3).
constexpr float kSqrt3 = 1.7320508f;
// Router weight spread: a normalised hidden state (RMS 1) over 256 dims gives router logits of
// standard deviation ~0.1 * 16 = 1.6, so sigmoid scores differ from token to token and routing varies.
constexpr float kRouterStd = 0.1f;
// e_score_correction_bias: non-zero, small next to the spread of sigmoid scores, so it nudges
// selection the way a trained model's balancing bias does without pinning it.
constexpr float kBiasStd = 0.03f;
// Output projections back into the residual stream are damped so the embedding (which differs per
// token) keeps dominating the stream: that is what makes routing differ between tokens.
constexpr float kResidualOutScale = 0.5f;

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// splitmix64: a counter-based generator, exact integer arithmetic, identical everywhere.
uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Value i of the stream `key`: uniform in [-1, 1) from the top 24 bits (exact in a float).
float unit_uniform(uint64_t key, uint64_t i) {
    const uint64_t r = splitmix64(key ^ splitmix64(i));
    return float(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

int64_t numel(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

enum class Fill { Random, Ones };

// A tensor whose values come from the stream named `stream` (a tensor's own name, or the name of the
// tensor it shares weights with), scaled to standard deviation `std`.
TensorToWrite tensor(DType dtype, std::vector<int64_t> shape, uint64_t seed, const std::string& stream, float std,
                     Fill fill = Fill::Random) {
    const uint64_t key = seed ^ fnv1a(stream);
    const int64_t n = numel(shape);
    TensorToWrite t{dtype, std::move(shape), {}};
    t.fill = [dtype, n, key, std, fill](std::vector<uint8_t>& out) {
        const float a = std * kSqrt3;
        out.resize(size_t(n) * dtype_size(dtype));
        for (int64_t i = 0; i < n; ++i) {
            const float v = fill == Fill::Ones ? 1.0f : a * unit_uniform(key, uint64_t(i));
            if (dtype == DType::F32) {
                std::memcpy(&out[size_t(i) * 4], &v, 4);
            } else {
                const uint16_t b = f32_to_bf16(v);
                out[size_t(i) * 2] = uint8_t(b);
                out[size_t(i) * 2 + 1] = uint8_t(b >> 8);
            }
        }
    };
    return t;
}

float fan_in_std(int64_t fan_in) { return 1.0f / std::sqrt(float(fan_in)); }

using Tensors = std::map<std::string, TensorToWrite>;

struct Builder {
    const DemoShape& s;
    uint64_t seed;
    Tensors& out;

    // A [rows, cols] projection; `stream` defaults to the tensor's own name.
    void linear(const std::string& name, int64_t rows, int64_t cols, float scale = 1.0f, std::string stream = {}) {
        out[name] = tensor(DType::BF16, {rows, cols}, seed, stream.empty() ? name : stream, scale * fan_in_std(cols));
    }
    void norm(const std::string& name, int64_t dim) {
        out[name] = tensor(DType::BF16, {dim}, seed, name, 0.0f, Fill::Ones);
    }
    void mlp(const std::string& p, int64_t inter) {
        linear(p + "gate_proj.weight", inter, s.hidden);
        linear(p + "up_proj.weight", inter, s.hidden);
        linear(p + "down_proj.weight", s.hidden, inter, kResidualOutScale);
    }
    void attention(const std::string& p) {
        const std::string a = p + "self_attn.";
        linear(a + "q_a_proj.weight", s.q_lora, s.hidden);
        norm(a + "q_a_layernorm.weight", s.q_lora);
        linear(a + "q_b_proj.weight", s.heads * (s.qk_nope + s.qk_rope), s.q_lora);
        linear(a + "kv_a_proj_with_mqa.weight", s.kv_lora + s.qk_rope, s.hidden);
        norm(a + "kv_a_layernorm.weight", s.kv_lora);
        linear(a + "kv_b_proj.weight", s.heads * (s.qk_nope + s.v_head), s.kv_lora);
        linear(a + "o_proj.weight", s.hidden, s.heads * s.v_head, kResidualOutScale);
    }
    void moe(const std::string& p) {
        const std::string m = p + "mlp.";
        out[m + "gate.weight"] = tensor(DType::BF16, {s.experts, s.hidden}, seed, m + "gate.weight", kRouterStd);
        out[m + "gate.e_score_correction_bias"] =
            tensor(DType::F32, {s.experts}, seed, m + "gate.e_score_correction_bias", kBiasStd);
        for (int64_t e = 0; e < s.experts; ++e) mlp(m + "experts." + std::to_string(e) + ".", s.moe_intermediate);
        mlp(m + "shared_experts.", s.shared_experts * s.moe_intermediate);
    }
    void decoder_layer(int64_t i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        norm(p + "input_layernorm.weight", s.hidden);
        norm(p + "post_attention_layernorm.weight", s.hidden);
        attention(p);
        if (i < s.first_k_dense) mlp(p + "mlp.", s.dense_intermediate);
        else moe(p);
    }
    // DeepSeek-V3's MTP module sits after the main layers; it shares the embedding and the output
    // head with the main model (the checkpoint stores copies, which get the same values here).
    void mtp_layer(int64_t i) {
        decoder_layer(i);
        const std::string p = "model.layers." + std::to_string(i) + ".";
        norm(p + "enorm.weight", s.hidden);
        norm(p + "hnorm.weight", s.hidden);
        linear(p + "eh_proj.weight", s.hidden, 2 * s.hidden);
        out[p + "embed_tokens.weight"] = tensor(DType::BF16, {s.vocab, s.hidden}, seed, "model.embed_tokens.weight", 1.0f);
        norm(p + "shared_head.norm.weight", s.hidden);
        linear(p + "shared_head.head.weight", s.vocab, s.hidden, 2.0f, "lm_head.weight");
    }
};

}  // namespace

std::map<std::string, TensorToWrite> demo_tensors(const DemoShape& s, uint64_t seed) {
    Tensors out;
    Builder b{s, seed, out};
    // Embedding rows of standard deviation 1: after RMS normalisation every token starts distinct.
    out["model.embed_tokens.weight"] = tensor(DType::BF16, {s.vocab, s.hidden}, seed, "model.embed_tokens.weight", 1.0f);
    for (int64_t i = 0; i < s.layers; ++i) b.decoder_layer(i);
    for (int64_t i = 0; i < s.mtp_layers; ++i) b.mtp_layer(s.layers + i);
    b.norm("model.norm.weight", s.hidden);
    // Logits of standard deviation ~2: sampling gives varied (if meaningless) text.
    b.linear("lm_head.weight", s.vocab, s.hidden, 2.0f);
    return out;
}

}  // namespace moe::demo
