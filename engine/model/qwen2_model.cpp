#include "model/qwen2_model.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"

namespace moe {

Qwen2Model::Qwen2Model(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options)
    : config_(checkpoint.config()),
      backend_(backend),
      rope_(make_rope_table(config_.rope, config_.head_dim)),
      gqa_{config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim, float(config_.softmax_scale())},
      eps_(float(config_.rms_norm_eps)),
      capacity_(context_capacity(config_, options)) {
    rope_.layout = RopeLayout::NeoxHalves;  // Qwen2 weights are in rotate_half layout
    load_layers(checkpoint);
}

void Qwen2Model::load_layers(const Checkpoint& ckpt) {
    const int64_t d = config_.hidden_size, D = config_.head_dim;
    const int64_t q_out = config_.num_attention_heads * D, kv_out = config_.num_key_value_heads * D;
    auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
        return backend_.load_weight(ckpt.matrix(name, rows, cols));
    };
    auto vec = [&](const std::string& name, int64_t n) { return backend_.upload(ckpt.vector_f32(name, {n}), 1, n); };

    embed_ = matrix("model.embed_tokens.weight", config_.vocab_size, d);
    final_norm_ = vec("model.norm.weight", d);
    const bool tied = config_.tie_word_embeddings && !ckpt.has("lm_head.weight");
    lm_head_ = tied ? embed_ : matrix("lm_head.weight", config_.vocab_size, d);

    for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer l;
        l.input_norm = vec(p + "input_layernorm.weight", d);
        l.post_norm = vec(p + "post_attention_layernorm.weight", d);
        l.q = matrix(p + "self_attn.q_proj.weight", q_out, d);
        l.k = matrix(p + "self_attn.k_proj.weight", kv_out, d);
        l.v = matrix(p + "self_attn.v_proj.weight", kv_out, d);
        l.o = matrix(p + "self_attn.o_proj.weight", d, q_out);
        l.q_bias = vec(p + "self_attn.q_proj.bias", q_out);
        l.k_bias = vec(p + "self_attn.k_proj.bias", kv_out);
        l.v_bias = vec(p + "self_attn.v_proj.bias", kv_out);
        l.mlp = FfnWeights{matrix(p + "mlp.gate_proj.weight", config_.intermediate_size, d),
                           matrix(p + "mlp.up_proj.weight", config_.intermediate_size, d),
                           matrix(p + "mlp.down_proj.weight", d, config_.intermediate_size)};
        l.k_cache = backend_.alloc(capacity_, kv_out);
        l.v_cache = backend_.alloc(capacity_, kv_out);
        layers_.push_back(std::move(l));
    }
}

Logits Qwen2Model::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    const int64_t T = int64_t(tokens.size());
    check_forward_range(start_pos, T, cached_, capacity_);
    cached_ = start_pos;
    if (T == 1) return forward_one(tokens[0], start_pos);

    Tensor h = backend_.embedding(embed_, tokens);
    Tensor pending;  // the latest FFN output, added to h by the next norm
    for (Layer& layer : layers_) decoder_layer(h, pending, layer, start_pos);
    cached_ = start_pos + T;
    Tensor normed = add_pending_rmsnorm(backend_, h, pending, final_norm_, eps_);
    if (rows == LogitRows::Last) normed = backend_.slice_rows(normed, T - 1, 1);
    return download_logits(backend_, backend_.linear(normed, lm_head_));
}

Qwen2Model::~Qwen2Model() { backend_.forget_steps(this); }

// One token: the whole forward is one Backend::decode_step (a replayed device graph on CUDA).
Logits Qwen2Model::forward_one(int32_t token, int64_t pos) {
    check_token(token, config_.vocab_size);  // a recorded step reads the id on the device, unchecked
    auto body = [&]() {
        Tensor h = backend_.embedding(embed_, std::span<const int32_t>(&token, 1));
        Tensor pending;
        for (Layer& layer : layers_) decoder_layer(h, pending, layer, pos);
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, final_norm_, eps_);
        return std::vector<Tensor>{backend_.linear(normed, lm_head_)};
    };
    std::vector<HostTensor> out = backend_.decode_step(this, token, pos, body);
    cached_ = pos + 1;
    return Logits{out[0].rows, out[0].cols, std::move(out[0].f32)};
}

void Qwen2Model::truncate(int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    cached_ = std::min(cached_, n);
}

void Qwen2Model::decoder_layer(Tensor& h, Tensor& pending, Layer& layer, int64_t start_pos) {
    const Tensor x = add_pending_rmsnorm(backend_, h, pending, layer.input_norm, eps_);  // h += pending
    const Tensor attn_out = attention(x, layer, start_pos);
    const Tensor x2 = backend_.add_rmsnorm(h, attn_out, layer.post_norm, eps_);  // h += attn_out
    pending = backend_.ffn(x2, layer.mlp);
}

Tensor Qwen2Model::attention(const Tensor& x, Layer& layer, int64_t start_pos) {
    const Weight* weights[] = {&layer.q, &layer.k, &layer.v};
    const Tensor* biases[] = {&layer.q_bias, &layer.k_bias, &layer.v_bias};
    std::vector<Tensor> qkv = backend_.linear_multi(x, weights, biases);
    const Tensor o = backend_.gqa_attention_from_projections(qkv[0], qkv[1], qkv[2], rope_, layer.k_cache,
                                                             layer.v_cache, start_pos, gqa_);
    return backend_.linear(o, layer.o);
}

}  // namespace moe
