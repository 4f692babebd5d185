#include "train/train_layers.h"

#include "train/step_profile.h"

namespace moe::train {

// ---- linear + LoRA, RMSNorm -----------------------------------------------------------------------

namespace {
// The input of a LoRA adapter: x with the adapter's dropout (mask keyed by its seed, re-derived in backward).
Tensor lora_input(Backend& be, const LoraWeights& l, const Tensor& x) {
    return l.dropout > 0.0f ? be.dropout(x, l.dropout, l.seed) : x;
}
}  // namespace

Tensor linear_fwd(const LayerContext& c, const Tensor& x, const Weight& w, const Tensor* bias) {
    const LoraSlot* lora = c.params.lora_of(w);
    if (lora && lora->weights.dropout == 0.0f)  // one op: x goes to the tensor cores once
        return c.be.linear_lora(x, w, bias, lora->a_weight, lora->b_weight, lora->weights.scale);
    Tensor y = c.be.linear(x, w, bias);
    if (const LoraSlot* l = lora) {
        const Tensor z = c.be.linear(lora_input(c.be, l->weights, x), l->a_weight);  // [T, r]
        c.be.scale_add(y, c.be.linear(z, l->b_weight), l->weights.scale);
    }
    return y;
}

Tensor linear_bwd(const LayerContext& c, const Tensor& x, const Weight& w, const Tensor* bias, const Tensor& dy) {
    Backend& be = c.be;
    if (bias)
        if (Tensor* db = c.params.grad_of(*bias)) be.sum_rows_into(dy, *db);
    const LoraSlot* lora = c.params.lora_of(w);
    if (lora && lora->weights.dropout == 0.0f) {
        Tensor da = lora->grads.a, db = lora->grads.b;  // handles: the accumulation lands in the parameters' grads
        return be.linear_lora_backward(x, w, lora->a_weight, lora->b_weight, lora->weights.scale, dy, c.params.grad_of(w),
                                       da, db);
    }
    Tensor dx = be.linear_backward_input(dy, w);
    if (Tensor* dw = c.params.grad_of(w)) be.linear_backward_weight(dy, x, *dw);
    if (const LoraSlot* l = lora) {
        // y += s · (xd Aᵀ) Bᵀ:  dB += s·dyᵀ z;  dz = s·dy B;  dA += dzᵀ xd;  dx += drop(dz A)
        const Tensor xd = lora_input(be, l->weights, x);
        const Tensor z = be.linear(xd, l->a_weight);
        Tensor dys = be.alloc(dy.rows(), dy.cols());
        be.scale_add(dys, dy, l->weights.scale);
        Tensor db = l->grads.b, da = l->grads.a;  // handles: the accumulation lands in the parameters' grads
        be.linear_backward_weight(dys, z, db);
        const Tensor dz = be.linear_backward_input(dys, l->b_weight);
        be.linear_backward_weight(dz, xd, da);
        const Tensor dxd = be.linear_backward_input(dz, l->a_weight);
        be.add_inplace(dx, l->weights.dropout > 0.0f ? be.dropout(dxd, l->weights.dropout, l->weights.seed) : dxd);
    }
    return dx;
}

namespace {
// Both projections LoRA'd without dropout: the group op's description of them (dy null in the
// forward); grads holds the gradient handles the pointers name.
bool lora_pair(const LayerContext& c, const Weight& w0, const Weight& w1) {
    const LoraSlot *l0 = c.params.lora_of(w0), *l1 = c.params.lora_of(w1);
    return l0 && l1 && l0->weights.dropout == 0.0f && l1->weights.dropout == 0.0f;
}
LoraLinear lora_linear(const LayerContext& c, const Weight& w, const Tensor* dy, Tensor (&grads)[2]) {
    const LoraSlot* l = c.params.lora_of(w);
    grads[0] = l->grads.a;  // handles: the accumulation lands in the parameters' grads
    grads[1] = l->grads.b;
    return LoraLinear{&w, &l->a_weight, &l->b_weight, l->weights.scale, dy, c.params.grad_of(w), &grads[0], &grads[1]};
}
}  // namespace

std::pair<Tensor, Tensor> linear_pair_fwd(const LayerContext& c, const Tensor& x, const Weight& w0, const Weight& w1) {
    if (!lora_pair(c, w0, w1)) return {linear_fwd(c, x, w0), linear_fwd(c, x, w1)};
    Tensor grads[2][2];
    const LoraLinear ps[2] = {lora_linear(c, w0, nullptr, grads[0]), lora_linear(c, w1, nullptr, grads[1])};
    std::vector<Tensor> ys = c.be.linear_lora_group(x, ps);
    return {std::move(ys[0]), std::move(ys[1])};
}

Tensor linear_pair_bwd(const LayerContext& c, const Tensor& x, const Weight& w0, const Tensor& dy0, const Weight& w1,
                       const Tensor& dy1) {
    if (!lora_pair(c, w0, w1)) {
        Tensor dx = linear_bwd(c, x, w0, nullptr, dy0);
        c.be.add_inplace(dx, linear_bwd(c, x, w1, nullptr, dy1));
        return dx;
    }
    Tensor grads[2][2];
    const LoraLinear ps[2] = {lora_linear(c, w0, &dy0, grads[0]), lora_linear(c, w1, &dy1, grads[1])};
    return c.be.linear_lora_group_backward(x, ps);
}

Tensor rmsnorm_bwd(const LayerContext& c, const Tensor& x, const Tensor& weight, float eps, const Tensor& dy) {
    return c.be.rmsnorm_backward(x, weight, eps, dy, c.params.grad_of(weight));
}

// ---- FFN ----------------------------------------------------------------------------------------

Tensor ffn_fwd(const LayerContext& c, const Tensor& x, const FfnWeights& w, FfnSaved& s) {
    s.x = x;
    std::tie(s.g, s.u) = linear_pair_fwd(c, x, w.gate, w.up);
    s.h = c.be.swiglu(s.g, s.u);
    return linear_fwd(c, s.h, w.down);
}

Tensor ffn_bwd(const LayerContext& c, const FfnWeights& w, const FfnSaved& s, const Tensor& dy) {
    const Tensor dh = linear_bwd(c, s.h, w.down, nullptr, dy);
    Tensor dg, du;
    c.be.swiglu_backward(s.g, s.u, dh, dg, du);
    return linear_pair_bwd(c, s.x, w.gate, dg, w.up, du);
}

// ---- MLA ----------------------------------------------------------------------------------------

namespace {
AttentionDims mla_attention_dims(const MlaDims& d) {
    return AttentionDims{d.n_heads, d.n_heads, d.qk_head(), d.v_head, d.softmax_scale};
}
RopeSpan q_rope_span(const MlaDims& d) { return RopeSpan{d.n_heads, d.qk_head(), d.qk_nope}; }
RopeSpan k_rope_span(const MlaDims& d) { return RopeSpan{1, d.qk_rope, 0}; }
}  // namespace

Tensor mla_fwd(const LayerContext& c, const MlaShape& m, const BatchRows& rows, const Tensor& x, const MlaWeights& w,
               MlaSaved& s) {
    Backend& be = c.be;
    const MlaDims& d = m.dims;
    s.x = x;
    if (w.q_lora) {
        s.q_a = linear_fwd(c, x, w.q_a);
        s.q_a_normed = be.rmsnorm(s.q_a, w.q_a_norm, m.latent_eps);
        s.q = linear_fwd(c, s.q_a_normed, w.q_b);
        s.ckv = linear_fwd(c, x, w.kv_a);
    } else {
        std::tie(s.q, s.ckv) = linear_pair_fwd(c, x, w.q, w.kv_a);
    }
    be.rope_rows(s.q, *m.rope, q_rope_span(d), rows.positions, false);
    s.latent = be.rmsnorm(be.slice_cols(s.ckv, 0, d.kv_lora), w.kv_a_norm, m.latent_eps);
    Tensor k_pe = be.slice_cols(s.ckv, d.kv_lora, d.qk_rope);
    be.rope_rows(k_pe, *m.rope, k_rope_span(d), rows.positions, false);
    be.mla_split_kv(linear_fwd(c, s.latent, w.kv_b), k_pe, d, s.k, s.v);
    {
        const StepProfile::Scope p("attention");
        s.attn = be.attention_train(s.q, s.k, s.v, rows.seg_start, mla_attention_dims(d));
    }
    return linear_fwd(c, s.attn.out, w.o);
}

Tensor mla_bwd(const LayerContext& c, const MlaShape& m, const BatchRows& rows, const MlaWeights& w, const MlaSaved& s,
               const Tensor& dy) {
    Backend& be = c.be;
    const MlaDims& d = m.dims;
    const Tensor d_attn = linear_bwd(c, s.attn.out, w.o, nullptr, dy);
    AttentionGrads g;
    {
        const StepProfile::Scope p("attention");
        g = be.attention_train_backward(s.q, s.k, s.v, s.attn, d_attn, rows.seg_start, mla_attention_dims(d));
    }
    Tensor dkv, dk_pe;
    be.mla_split_kv_backward(g.dk, g.dv, d, dkv, dk_pe);
    const Tensor d_latent = linear_bwd(c, s.latent, w.kv_b, nullptr, dkv);
    be.rope_rows(dk_pe, *m.rope, k_rope_span(d), rows.positions, true);
    const Tensor d_latent_raw = rmsnorm_bwd(c, be.slice_cols(s.ckv, 0, d.kv_lora), w.kv_a_norm, m.latent_eps, d_latent);
    const Tensor d_ckv = be.concat_cols(d_latent_raw, dk_pe);
    be.rope_rows(g.dq, *m.rope, q_rope_span(d), rows.positions, true);
    if (!w.q_lora) return linear_pair_bwd(c, s.x, w.q, g.dq, w.kv_a, d_ckv);
    Tensor dx = linear_bwd(c, s.x, w.kv_a, nullptr, d_ckv);
    const Tensor d_qan = linear_bwd(c, s.q_a_normed, w.q_b, nullptr, g.dq);
    const Tensor d_qa = rmsnorm_bwd(c, s.q_a, w.q_a_norm, m.latent_eps, d_qan);
    be.add_inplace(dx, linear_bwd(c, s.x, w.q_a, nullptr, d_qa));
    return dx;
}

// ---- GQA ----------------------------------------------------------------------------------------

namespace {
AttentionDims gqa_attention_dims(const GqaDims& d) {
    return AttentionDims{d.n_heads, d.n_kv_heads, d.head_dim, d.head_dim, d.softmax_scale};
}
}  // namespace

Tensor gqa_fwd(const LayerContext& c, const GqaShape& g, const BatchRows& rows, const Tensor& x,
               const GqaLayerWeights& w, GqaSaved& s) {
    Backend& be = c.be;
    const GqaDims& d = g.dims;
    s.x = x;
    s.q = linear_fwd(c, x, w.q, &w.q_bias);
    s.k = linear_fwd(c, x, w.k, &w.k_bias);
    s.v = linear_fwd(c, x, w.v, &w.v_bias);
    be.rope_rows(s.q, *g.rope, RopeSpan{d.n_heads, d.head_dim, 0}, rows.positions, false);
    be.rope_rows(s.k, *g.rope, RopeSpan{d.n_kv_heads, d.head_dim, 0}, rows.positions, false);
    s.attn = be.attention_train(s.q, s.k, s.v, rows.seg_start, gqa_attention_dims(d));
    return linear_fwd(c, s.attn.out, w.o);
}

Tensor gqa_bwd(const LayerContext& c, const GqaShape& g, const BatchRows& rows, const GqaLayerWeights& w,
               const GqaSaved& s, const Tensor& dy) {
    Backend& be = c.be;
    const GqaDims& d = g.dims;
    const Tensor d_attn = linear_bwd(c, s.attn.out, w.o, nullptr, dy);
    AttentionGrads a = be.attention_train_backward(s.q, s.k, s.v, s.attn, d_attn, rows.seg_start, gqa_attention_dims(d));
    be.rope_rows(a.dq, *g.rope, RopeSpan{d.n_heads, d.head_dim, 0}, rows.positions, true);
    be.rope_rows(a.dk, *g.rope, RopeSpan{d.n_kv_heads, d.head_dim, 0}, rows.positions, true);
    Tensor dx = linear_bwd(c, s.x, w.q, &w.q_bias, a.dq);
    be.add_inplace(dx, linear_bwd(c, s.x, w.k, &w.k_bias, a.dk));
    be.add_inplace(dx, linear_bwd(c, s.x, w.v, &w.v_bias, a.dv));
    return dx;
}

// ---- MoE ----------------------------------------------------------------------------------------

Tensor moe_fwd(const LayerContext& c, const MoeShape& m, const Tensor& x, const MoeWeights& w, MoeSaved& s) {
    Backend& be = c.be;
    s.x = x;
    {
        const StepProfile::Scope p("router");
        const Tensor logits = be.router_logits(x, w.gate);
        s.routing = be.route_from_logits(logits, w.bias.empty() ? nullptr : &w.bias, m.router, s.scores);
        if (m.balance_coeff > 0.0f) {
            BalanceLossResult b =
                be.balance_loss(s.scores, s.routing.expert_ids, m.rows_per_sequence, m.router.top_k, m.balance_coeff);
            s.balance_loss = b.loss;
            s.d_scores = std::move(b.d_scores);
        }
    }
    // The shared expert before the routed ones: the CUDA backend brings the routing to the host to
    // group the rows, and waits for it while the shared expert's kernels keep the GPU busy.
    Tensor shared_y;
    if (w.shared) {
        const StepProfile::Scope p("shared");
        shared_y = ffn_fwd(c, x, *w.shared, s.shared);
    }
    const ExpertLoraSlot* lora = c.params.lora_of(w.experts);
    Tensor y;
    {
        const StepProfile::Scope p("experts");
        y = be.moe_experts_train(x, s.routing, w.experts, lora ? &lora->weights : nullptr,
                                 c.keep_expert_rows ? &s.expert_rows : nullptr);
    }
    if (w.shared) be.add_inplace(y, shared_y);  // y = routed + shared, as before
    return y;
}

Tensor moe_bwd(const LayerContext& c, const MoeShape& m, const MoeWeights& w, const MoeSaved& s, const Tensor& dy) {
    Backend& be = c.be;
    const ExpertLoraSlot* lora = c.params.lora_of(w.experts);
    Tensor d_weights, dx;
    ExpertLoraGrads lora_grads = lora ? lora->grads : ExpertLoraGrads{};  // handles onto the parameters' grads
    {
        const StepProfile::Scope p("experts");
        dx = be.moe_experts_backward(s.x, s.routing, w.experts, lora ? &lora->weights : nullptr, dy, d_weights,
                                     c.params.grad_of(w.experts), lora ? &lora_grads : nullptr, s.expert_rows.get());
    }
    {
        const StepProfile::Scope p("router");
        const Tensor d_logits =
            be.route_backward(s.scores, s.routing, d_weights, s.d_scores.empty() ? nullptr : &s.d_scores, m.router);
        be.add_inplace(dx, linear_bwd(c, s.x, w.gate, nullptr, d_logits));
    }
    const StepProfile::Scope p("shared");
    if (w.shared) be.add_inplace(dx, ffn_bwd(c, *w.shared, s.shared, dy));
    return dx;
}

}  // namespace moe::train
