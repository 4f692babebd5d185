#include "cuda/bench/synthetic_model.h"

#include <cmath>

#include "core/error.h"
#include "cuda/cuda_storage.h"
#include "elementwise.h"

namespace moe::bench {

using cuda::f32;
using cuda::i32;

namespace {
// q_a_layernorm / kv_a_layernorm use 1e-6 whatever the config says (deepseek_model.cpp).
constexpr float kLatentNormEps = 1e-6f;
}  // namespace

struct SyntheticModel::Layer {
    Tensor input_norm, post_norm;
    // MLA
    bool q_lora = false;
    Weight q, q_a, q_b, kv_a, kv_b, o;
    Tensor q_a_norm, kv_a_norm;
    // GQA
    Weight k, v;
    Tensor q_bias, k_bias, v_bias;
    // FFN
    bool is_moe = false;
    FfnWeights mlp;
    Weight gate;
    Tensor bias;
    ExpertSet experts;
    std::optional<FfnWeights> shared;
    Tensor cache, k_cache, v_cache;
};

SyntheticModel::SyntheticModel(CudaBackend& be, const ModelConfig& c, int64_t capacity, uint64_t seed)
    : backend_(be), c_(c), capacity_(capacity), mla_(c.is_deepseek()) {
    uint64_t s = seed;
    const int64_t d = c.hidden_size;
    // Uniform(-a, a) with a = sqrt(3 / fan_in): unit-variance outputs for unit-variance inputs.
    auto W = [&](int64_t rows, int64_t cols) { return be.random_weight(rows, cols, ++s, std::sqrt(3.0f / float(cols))); };
    auto norm = [&](int64_t n) { return be.random_tensor(1, n, ++s, 1.0f, 0.1f); };
    auto ffn = [&](int64_t inter) { return FfnWeights{W(inter, d), W(inter, d), W(d, inter)}; };

    embed_ = be.random_weight(c.vocab_size, d, ++s, 1.0f);
    lm_head_ = W(c.vocab_size, d);
    final_norm_ = norm(d);
    if (mla_) {
        rope_ = make_rope_table(c.rope, c.qk_rope_head_dim);
        mla_dims_ = MlaDims{c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank,
                            float(c.softmax_scale())};
        router_ = router_params_from_config(c);
    } else {
        rope_ = make_rope_table(c.rope, c.head_dim);
        rope_.layout = RopeLayout::NeoxHalves;
        gqa_dims_ = GqaDims{c.num_attention_heads, c.num_key_value_heads, c.head_dim, float(c.softmax_scale())};
    }
    const int64_t H = c.num_attention_heads;
    layers_.resize(size_t(c.num_hidden_layers));
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        Layer& l = layers_[size_t(i)];
        l.input_norm = norm(d);
        l.post_norm = norm(d);
        if (mla_) {
            l.q_lora = c.q_lora_rank > 0;
            if (l.q_lora) {
                l.q_a = W(c.q_lora_rank, d);
                l.q_a_norm = norm(c.q_lora_rank);
                l.q_b = W(H * c.qk_head_dim(), c.q_lora_rank);
            } else {
                l.q = W(H * c.qk_head_dim(), d);
            }
            l.kv_a = W(c.kv_lora_rank + c.qk_rope_head_dim, d);
            l.kv_a_norm = norm(c.kv_lora_rank);
            l.kv_b = W(H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
            l.o = W(d, H * c.v_head_dim);
            l.cache = be.alloc(capacity, mla_dims_.cache_cols());
            l.is_moe = c.is_moe_layer(i);
            if (l.is_moe) {
                l.gate = W(c.n_routed_experts, d);
                if (c.has_routing_bias()) l.bias = be.random_tensor(1, c.n_routed_experts, ++s, 0.0f, 0.01f);
                l.experts = be.random_expert_set(c.n_routed_experts, d, c.moe_intermediate_size, ++s,
                                                 std::sqrt(3.0f / float(d)));
                if (c.n_shared_experts > 0) l.shared = ffn(c.moe_intermediate_size * c.n_shared_experts);
            } else {
                l.mlp = ffn(c.intermediate_size);
            }
        } else {
            const int64_t D = c.head_dim, kv = c.num_key_value_heads * D;
            l.q = W(H * D, d);
            l.k = W(kv, d);
            l.v = W(kv, d);
            l.o = W(d, H * D);
            l.q_bias = be.random_tensor(1, H * D, ++s, 0.0f, 0.1f);
            l.k_bias = be.random_tensor(1, kv, ++s, 0.0f, 0.1f);
            l.v_bias = be.random_tensor(1, kv, ++s, 0.0f, 0.1f);
            l.mlp = ffn(c.intermediate_size);
            l.k_cache = be.alloc(capacity, kv);
            l.v_cache = be.alloc(capacity, kv);
        }
    }
    token_ = be.alloc(1, 1, DType::I32);
    pos_ = be.alloc(1, 1, DType::I32);
    host_token_ = cuda::PinnedBuffer(sizeof(int32_t));
    be.synchronize();
}

SyntheticModel::~SyntheticModel() { backend_.set_device_inputs(nullptr, nullptr); }

Tensor SyntheticModel::deepseek_layer(Tensor& h, const Tensor& pending, Layer& l, int64_t start_pos) {
    CudaBackend& be = backend_;
    const float eps = float(c_.rms_norm_eps);
    // attention (deepseek_model.cpp DeepseekModel::decoder_layer / attention)
    const Tensor x = add_pending_rmsnorm(be, h, pending, l.input_norm, eps);
    const Weight* weights[] = {l.q_lora ? &l.q_a : &l.q, &l.kv_a};
    const Tensor* biases[] = {nullptr, nullptr};
    std::vector<Tensor> proj = be.linear_multi(x, weights, biases);
    Tensor q = l.q_lora ? be.linear(be.rmsnorm(proj[0], l.q_a_norm, kLatentNormEps), l.q_b) : proj[0];
    const Tensor attn = be.linear(
        be.mla_attention_from_projections(q, proj[1], l.kv_a_norm, kLatentNormEps, rope_, l.kv_b, l.cache, start_pos,
                                          mla_dims_),
        l.o);
    // ffn (DeepseekModel::decoder_layer / moe): the output stays pending for the next norm
    const Tensor x2 = be.add_rmsnorm(h, attn, l.post_norm, eps);
    if (!l.is_moe) return be.ffn(x2, l.mlp);
    RouterOutput routing;
    return be.moe_block(x2, l.gate, l.bias.empty() ? nullptr : &l.bias, router_, l.experts,
                        l.shared ? &*l.shared : nullptr, routing);
}

Tensor SyntheticModel::qwen_layer(Tensor& h, const Tensor& pending, Layer& l, int64_t start_pos) {
    CudaBackend& be = backend_;
    const float eps = float(c_.rms_norm_eps);
    // qwen2_model.cpp Qwen2Model::decoder_layer / attention
    const Tensor x = add_pending_rmsnorm(be, h, pending, l.input_norm, eps);
    const Weight* weights[] = {&l.q, &l.k, &l.v};
    const Tensor* biases[] = {&l.q_bias, &l.k_bias, &l.v_bias};
    std::vector<Tensor> qkv = be.linear_multi(x, weights, biases);
    const Tensor attn = be.linear(
        be.gqa_attention_from_projections(qkv[0], qkv[1], qkv[2], rope_, l.k_cache, l.v_cache, start_pos, gqa_dims_),
        l.o);
    const Tensor x2 = be.add_rmsnorm(h, attn, l.post_norm, eps);
    return be.ffn(x2, l.mlp);
}

Tensor SyntheticModel::forward(std::span<const int32_t> tokens, int64_t start_pos) {
    CudaBackend& be = backend_;
    const int64_t T = int64_t(tokens.size());
    Tensor h = be.embedding(embed_, tokens);
    Tensor pending;
    for (Layer& l : layers_) pending = mla_ ? deepseek_layer(h, pending, l, start_pos) : qwen_layer(h, pending, l, start_pos);
    const Tensor normed = add_pending_rmsnorm(be, h, pending, final_norm_, float(c_.rms_norm_eps));
    return be.linear(T == 1 ? normed : be.slice_rows(normed, T - 1, 1), lm_head_);
}

Tensor SyntheticModel::prefill(const std::vector<int32_t>& tokens, int64_t start_pos) {
    if (start_pos + int64_t(tokens.size()) > capacity_) throw_invalid_argument("bench: prefill beyond the cache capacity");
    return forward(tokens, start_pos);
}

void SyntheticModel::fake_context(int64_t n, int32_t token) {
    if (n + 1 > capacity_) throw_invalid_argument("bench: context beyond the cache capacity");
    uint64_t s = 1234;
    cudaStream_t st = backend_.stream();
    for (Layer& l : layers_) {
        for (Tensor* t : {&l.cache, &l.k_cache, &l.v_cache}) {
            if (t->empty() || n == 0) continue;
            MOE_CUDA_CHECK(kernels::fill_random_f32(f32(*t), n * t->cols(), ++s, 0.0f, 1.0f, st));
        }
    }
    const int32_t vals[2] = {token, int32_t(n)};
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(token_), &vals[0], 4, cudaMemcpyHostToDevice, st));
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(pos_), &vals[1], 4, cudaMemcpyHostToDevice, st));
    backend_.synchronize();
}

void SyntheticModel::decode_body() {
    backend_.set_device_inputs(i32(token_), i32(pos_));
    const int32_t placeholder = 0;
    // start_pos 0: the kernels read the position from pos_ (the host value only passes the range checks).
    Tensor logits = forward(std::span<const int32_t>(&placeholder, 1), 0);
    backend_.argmax_to(logits, 0, i32(token_));
    MOE_CUDA_CHECK(kernels::add_scalar_i32(i32(pos_), 1, backend_.stream()));
    backend_.set_device_inputs(nullptr, nullptr);
}

void SyntheticModel::decode_step_eager() {
    decode_body();
    backend_.synchronize();
}

void SyntheticModel::capture_decode_graph() {
    cudaStream_t st = backend_.stream();
    MOE_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
    try {
        decode_body();
    } catch (...) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(st, &broken);
        if (broken) cudaGraphDestroy(broken);
        backend_.set_device_inputs(nullptr, nullptr);
        throw;
    }
    cudaGraph_t g = nullptr;
    MOE_CUDA_CHECK(cudaStreamEndCapture(st, &g));
    graph_.adopt(g);
}

int32_t SyntheticModel::decode_step_graph() {
    cudaStream_t st = backend_.stream();
    graph_.launch(st);
    MOE_CUDA_CHECK(cudaMemcpyAsync(host_token_.as<int32_t>(), i32(token_), 4, cudaMemcpyDeviceToHost, st));
    MOE_CUDA_CHECK(cudaStreamSynchronize(st));
    return *host_token_.as<int32_t>();
}

double SyntheticModel::decode_bytes(int64_t n) const {
    const double bf16 = 2.0, f32b = 4.0;
    const double d = double(c_.hidden_size), H = double(c_.num_attention_heads);
    double bytes = d * bf16 + double(c_.vocab_size) * d * bf16 + d * f32b;  // embedding row, lm_head, final norm
    for (const Layer& l : layers_) {
        bytes += 2 * d * f32b;  // the two norms
        auto ffn_bytes = [&](double inter) { return 3 * inter * d * bf16; };
        if (mla_) {
            const double qk = double(c_.qk_head_dim());
            bytes += l.q_lora ? (double(c_.q_lora_rank) * d + H * qk * double(c_.q_lora_rank)) * bf16 : H * qk * d * bf16;
            bytes += double(c_.kv_lora_rank + c_.qk_rope_head_dim) * d * bf16;
            bytes += H * double(c_.qk_nope_head_dim + c_.v_head_dim) * double(c_.kv_lora_rank) * bf16;
            bytes += d * H * double(c_.v_head_dim) * bf16;
            bytes += double(n) * double(mla_dims_.cache_cols()) * f32b;  // latent cache rows
            if (l.is_moe) {
                bytes += double(c_.n_routed_experts) * d * bf16;  // router gate
                bytes += double(c_.num_experts_per_tok) * ffn_bytes(double(c_.moe_intermediate_size));
                if (l.shared) bytes += ffn_bytes(double(c_.moe_intermediate_size * c_.n_shared_experts));
            } else {
                bytes += ffn_bytes(double(c_.intermediate_size));
            }
        } else {
            const double D = double(c_.head_dim), kv = double(c_.num_key_value_heads) * D;
            bytes += (H * D * d + 2 * kv * d + d * H * D) * bf16 + (H * D + 2 * kv) * f32b;
            bytes += double(n) * 2 * kv * f32b;  // K and V cache rows
            bytes += ffn_bytes(double(c_.intermediate_size));
        }
    }
    return bytes;
}

double SyntheticModel::prefill_flops(int64_t T) const {
    const double t = double(T), d = double(c_.hidden_size), H = double(c_.num_attention_heads);
    const double pairs = t * (t + 1) / 2;  // causal (query, key) pairs
    double f = 2 * t * d * double(c_.vocab_size) / t;  // lm_head on the last row only
    for (const Layer& l : layers_) {
        if (mla_) {
            const double qk = double(c_.qk_head_dim()), kvl = double(c_.kv_lora_rank);
            f += 2 * t * (l.q_lora ? double(c_.q_lora_rank) * d + H * qk * double(c_.q_lora_rank) : H * qk * d);
            f += 2 * t * double(c_.kv_lora_rank + c_.qk_rope_head_dim) * d;
            f += 2 * t * H * double(c_.qk_nope_head_dim + c_.v_head_dim) * kvl;  // latent expansion
            f += 2 * pairs * H * (qk + double(c_.v_head_dim));
            f += 2 * t * d * H * double(c_.v_head_dim);
            if (l.is_moe) {
                f += 2 * t * double(c_.n_routed_experts) * d;
                f += 2 * t * double(c_.num_experts_per_tok) * 3 * double(c_.moe_intermediate_size) * d;
                if (l.shared) f += 2 * t * 3 * double(c_.moe_intermediate_size * c_.n_shared_experts) * d;
            } else {
                f += 2 * t * 3 * double(c_.intermediate_size) * d;
            }
        } else {
            const double D = double(c_.head_dim), kv = double(c_.num_key_value_heads) * D;
            f += 2 * t * (H * D * d + 2 * kv * d + d * H * D);
            f += 2 * pairs * H * 2 * D;
            f += 2 * t * 3 * double(c_.intermediate_size) * d;
        }
    }
    return f;
}

}  // namespace moe::bench
