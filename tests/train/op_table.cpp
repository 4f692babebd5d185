#include "op_table.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>

#include "core/dtype.h"

namespace moe::test {

const OpTensor& OpInstance::at(const std::string& name) const {
    for (const OpTensor& t : inputs)
        if (t.name == name) return t;
    throw std::runtime_error("op case has no input " + name);
}

Tensor to_tensor(Backend& b, const OpTensor& t) {
    return t.is_int() ? b.upload_i32(t.i32, t.rows, t.cols) : b.upload(t.f32, t.rows, t.cols);
}

Weight to_weight(Backend& b, const OpTensor& t) {
    return b.weight_from_f32(t.f32, t.rows, t.cols);
}

namespace {

// ---- inputs --------------------------------------------------------------------------------------

// Uniform values in [lo, hi) rounded to bf16 (exact on every backend).
std::vector<float> values(size_t n, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(dist(rng)));
    return v;
}

OpTensor input(std::string name, int64_t rows, int64_t cols, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
    return OpTensor{std::move(name), rows, cols, values(size_t(rows * cols), rng, lo, hi), {}, true};
}
OpTensor fixed(std::string name, int64_t rows, int64_t cols, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
    OpTensor t = input(std::move(name), rows, cols, rng, lo, hi);
    t.differentiable = false;
    return t;
}
OpTensor ints(std::string name, std::vector<int32_t> v, int64_t cols = 1) {
    const int64_t rows = int64_t(v.size()) / cols;
    return OpTensor{std::move(name), rows, cols, {}, std::move(v), false};
}

Tensor T(Backend& b, const OpInstance& in, const char* name) { return to_tensor(b, in.at(name)); }
Weight W(Backend& b, const OpInstance& in, const char* name) { return to_weight(b, in.at(name)); }
Tensor D(Backend& b, const OpOutputs& d, size_t i, int64_t rows, int64_t cols) { return b.upload(d[i], rows, cols); }
Tensor zeros_like(Backend& b, const OpTensor& t) { return b.alloc(t.rows, t.cols); }

// ---- linear, embedding, norm, rope -----------------------------------------------------------

OpCase linear_case() {
    OpCase c;
    c.name = "linear";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 5, 12, rng), input("w", 7, 12, rng), input("b", 1, 7, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        const Tensor bias = T(b, in, "b");
        return OpOutputs{b.download(b.linear(T(b, in, "x"), W(b, in, "w"), &bias))};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        const Tensor dy = D(b, d, 0, 5, 7);
        Tensor dw = zeros_like(b, in.at("w")), db = zeros_like(b, in.at("b"));
        b.linear_backward_weight(dy, T(b, in, "x"), dw);
        b.sum_rows_into(dy, db);
        return OpOutputs{b.download(b.linear_backward_input(dy, W(b, in, "w"))), b.download(dw), b.download(db)};
    };
    return c;
}

// A LoRA'd linear as one op (12 rows: past the CUDA GEMV cut-off, so the fused GEMM path runs).
OpCase linear_lora_case() {
    OpCase c;
    c.name = "linear_lora";
    constexpr float kScale = 1.5f;
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 12, 16, rng), input("w", 10, 16, rng), input("bias", 1, 10, rng),
                           input("a", 4, 16, rng), input("b", 10, 4, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        const Tensor bias = T(b, in, "bias");
        return OpOutputs{b.download(b.linear_lora(T(b, in, "x"), W(b, in, "w"), &bias, W(b, in, "a"), W(b, in, "b"), kScale))};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        const Tensor dy = D(b, d, 0, 12, 10);
        Tensor dw = zeros_like(b, in.at("w")), dbias = zeros_like(b, in.at("bias"));
        Tensor da = zeros_like(b, in.at("a")), dbm = zeros_like(b, in.at("b"));
        const Tensor dx =
            b.linear_lora_backward(T(b, in, "x"), W(b, in, "w"), W(b, in, "a"), W(b, in, "b"), kScale, dy, &dw, da, dbm);
        b.sum_rows_into(dy, dbias);
        return OpOutputs{b.download(dx), b.download(dw), b.download(dbias), b.download(da), b.download(dbm)};
    };
    return c;
}

// Two LoRA'd linears of one x as one group op (q | kv_a, gate | up): the outputs, Σ dx, the first
// projection's dW (the second's frozen) and both adapters' gradients.
OpCase linear_lora_group_case() {
    OpCase c;
    c.name = "linear_lora_group";
    static constexpr float kScales[2] = {1.5f, 0.75f};
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 12, 16, rng), input("w0", 10, 16, rng), input("a0", 4, 16, rng),
                           input("b0", 10, 4, rng), fixed("w1", 6, 16, rng), input("a1", 3, 16, rng),
                           input("b1", 6, 3, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        const Weight w0 = W(b, in, "w0"), a0 = W(b, in, "a0"), b0 = W(b, in, "b0");
        const Weight w1 = W(b, in, "w1"), a1 = W(b, in, "a1"), b1 = W(b, in, "b1");
        const LoraLinear ps[2] = {{&w0, &a0, &b0, kScales[0]}, {&w1, &a1, &b1, kScales[1]}};
        const std::vector<Tensor> ys = b.linear_lora_group(T(b, in, "x"), ps);
        return OpOutputs{b.download(ys[0]), b.download(ys[1])};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        const Weight w0 = W(b, in, "w0"), a0 = W(b, in, "a0"), b0 = W(b, in, "b0");
        const Weight w1 = W(b, in, "w1"), a1 = W(b, in, "a1"), b1 = W(b, in, "b1");
        const Tensor dy0 = D(b, d, 0, 12, 10), dy1 = D(b, d, 1, 12, 6);
        Tensor dw0 = zeros_like(b, in.at("w0")), da0 = zeros_like(b, in.at("a0")), db0 = zeros_like(b, in.at("b0"));
        Tensor da1 = zeros_like(b, in.at("a1")), db1 = zeros_like(b, in.at("b1"));
        const LoraLinear ps[2] = {{&w0, &a0, &b0, kScales[0], &dy0, &dw0, &da0, &db0},
                                  {&w1, &a1, &b1, kScales[1], &dy1, nullptr, &da1, &db1}};
        const Tensor dx = b.linear_lora_group_backward(T(b, in, "x"), ps);
        return OpOutputs{b.download(dx), b.download(dw0), b.download(da0), b.download(db0), b.download(da1),
                         b.download(db1)};
    };
    return c;
}

OpCase embedding_case() {
    OpCase c;
    c.name = "embedding";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("table", 11, 6, rng), ints("ids", {3, 7, 3, 0, 10, 7, 3})}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{b.download(b.embedding(W(b, in, "table"), in.at("ids").i32))};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor dt = zeros_like(b, in.at("table"));
        b.embedding_backward(D(b, d, 0, 7, 6), in.at("ids").i32, dt);
        return OpOutputs{b.download(dt)};
    };
    c.cuda_nmse = 1e-10;
    return c;
}

OpCase rmsnorm_case() {
    OpCase c;
    c.name = "rmsnorm";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 4, 16, rng), input("w", 1, 16, rng, 0.5f, 1.5f)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{b.download(b.rmsnorm(T(b, in, "x"), T(b, in, "w"), 1e-6f))};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor dw = zeros_like(b, in.at("w"));
        const Tensor dx = b.rmsnorm_backward(T(b, in, "x"), T(b, in, "w"), 1e-6f, D(b, d, 0, 4, 16), &dw);
        return OpOutputs{b.download(dx), b.download(dw)};
    };
    c.cuda_nmse = 1e-9;
    return c;
}

// YaRN with mscale != mscale_all_dim so the attention factor (cos/sin magnitude) is not 1.
RopeTable yarn_table(int64_t dim) {
    RopeConfig r;
    r.type = "yarn";
    r.theta = 10000.0;
    r.factor = 4.0;
    r.original_max_position_embeddings = 64;
    r.mscale = 1.0;
    r.mscale_all_dim = 0.5;
    return make_rope_table(r, dim);
}

OpCase rope_case(bool interleaved) {
    OpCase c;
    c.name = interleaved ? "rope_rows_interleaved_yarn" : "rope_rows_neox";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 5, 24, rng), ints("pos", {0, 1, 2, 0, 5})}};
    };
    auto table = [interleaved]() {
        RopeTable t = yarn_table(8);
        t.layout = interleaved ? RopeLayout::Interleaved : RopeLayout::NeoxHalves;
        return t;
    };
    const RopeSpan span{2, 12, 4};  // 2 heads of stride 12, rotary dims 4..11
    c.forward = [table, span](Backend& b, const OpInstance& in) {
        Tensor x = T(b, in, "x");
        b.rope_rows(x, table(), span, T(b, in, "pos"), false);
        return OpOutputs{b.download(x)};
    };
    c.backward = [table, span](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor dx = D(b, d, 0, 5, 24);
        b.rope_rows(dx, table(), span, T(b, in, "pos"), true);
        return OpOutputs{b.download(dx)};
    };
    c.cuda_nmse = 1e-9;
    return c;
}

// ---- attention --------------------------------------------------------------------------------

// Two segments: rows 0..3 and 4..6 (a packed batch), causal inside each.
OpCase attention_case(const char* name, AttentionDims dims) {
    OpCase c;
    c.name = name;
    const int64_t Tn = 7;
    c.make = [dims, Tn](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("q", Tn, dims.n_heads * dims.qk_dim, rng),
                           input("k", Tn, dims.n_kv_heads * dims.qk_dim, rng),
                           input("v", Tn, dims.n_kv_heads * dims.v_dim, rng), ints("seg", {0, 0, 0, 0, 4, 4, 4})}};
    };
    c.forward = [dims](Backend& b, const OpInstance& in) {
        const AttentionSaved s = b.attention_train(T(b, in, "q"), T(b, in, "k"), T(b, in, "v"), T(b, in, "seg"), dims);
        return OpOutputs{b.download(s.out)};
    };
    c.backward = [dims, Tn](Backend& b, const OpInstance& in, const OpOutputs& d) {
        const Tensor q = T(b, in, "q"), k = T(b, in, "k"), v = T(b, in, "v"), seg = T(b, in, "seg");
        const AttentionSaved s = b.attention_train(q, k, v, seg, dims);
        const AttentionGrads g =
            b.attention_train_backward(q, k, v, s, D(b, d, 0, Tn, dims.n_heads * dims.v_dim), seg, dims);
        return OpOutputs{b.download(g.dq), b.download(g.dk), b.download(g.dv)};
    };
    // CUDA rounds the probabilities, dO and the score gradients dS to bf16 for the tensor cores; with
    // 7 rows and at most 4 keys a row, dq = Σ dS k sums few terms that nearly cancel (Σ_j p_j (dP_j − D)
    // = 0), so one seed's NMSE varies a lot: an emulation of those roundings gave up to 7.7e-5 for dq/dk
    // over 300 seeds (median ~1e-5). A wrong mask, index or transposition gives NMSE >= 1e-2.
    c.cuda_nmse = 3e-4;
    return c;
}

OpCase mla_split_case() {
    OpCase c;
    c.name = "mla_split_kv";
    const MlaDims d{2, 4, 3, 5, 6, 0.5f};  // heads 2, nope 4, rope 3, v 5, kv_lora 6
    c.make = [d](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("kv", 3, d.n_heads * (d.qk_nope + d.v_head), rng), input("k_pe", 3, d.qk_rope, rng)}};
    };
    c.forward = [d](Backend& b, const OpInstance& in) {
        Tensor k, v;
        b.mla_split_kv(T(b, in, "kv"), T(b, in, "k_pe"), d, k, v);
        return OpOutputs{b.download(k), b.download(v)};
    };
    c.backward = [d](Backend& b, const OpInstance&, const OpOutputs& dout) {
        Tensor dkv, dpe;
        b.mla_split_kv_backward(D(b, dout, 0, 3, d.n_heads * d.qk_head()), D(b, dout, 1, 3, d.n_heads * d.v_head), d,
                                dkv, dpe);
        return OpOutputs{b.download(dkv), b.download(dpe)};
    };
    c.cuda_nmse = 1e-12;
    return c;
}

// ---- router and balance loss ------------------------------------------------------------------

OpCase router_case(const char* name, RouterParams p, bool with_bias) {
    OpCase c;
    c.name = name;
    const int64_t Tn = 6, E = p.n_experts, K = p.top_k;
    c.make = [=](uint64_t seed) {
        std::mt19937_64 rng(seed);
        OpInstance in{{input("logits", Tn, E, rng, -3.0f, 3.0f)}};
        if (with_bias) in.inputs.push_back(fixed("bias", 1, E, rng, -0.3f, 0.3f));
        return in;
    };
    auto run = [=](Backend& b, const OpInstance& in, Tensor& scores) {
        const Tensor bias = with_bias ? T(b, in, "bias") : Tensor();
        return b.route_from_logits(T(b, in, "logits"), with_bias ? &bias : nullptr, p, scores);
    };
    c.forward = [=](Backend& b, const OpInstance& in) {
        Tensor scores;
        const RouterOutput r = run(b, in, scores);
        std::vector<float> ids;
        for (int32_t id : b.download_i32(r.expert_ids)) ids.push_back(float(id));
        return OpOutputs{b.download(r.weights), b.download(scores), ids};
    };
    c.backward = [=](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor scores;
        const RouterOutput r = run(b, in, scores);
        const Tensor d_scores = D(b, d, 1, Tn, E);
        return OpOutputs{b.download(b.route_backward(scores, r, D(b, d, 0, Tn, K), &d_scores, p))};
    };
    c.discrete_outputs = {2};
    c.cuda_nmse = 1e-9;
    return c;
}

RouterParams router_params(int64_t E, int64_t K, int64_t groups, int64_t topk_group, ScoringFunc f, TopkMethod m,
                           bool norm, float scale, RouterScaling rule) {
    RouterParams p;
    p.n_experts = E;
    p.top_k = K;
    p.n_group = groups;
    p.topk_group = topk_group;
    p.scoring = f;
    p.method = m;
    p.norm_topk_prob = norm;
    p.routed_scaling_factor = scale;
    p.scaling = rule;
    return p;
}

OpCase balance_case() {
    OpCase c;
    c.name = "balance_loss";
    const int64_t Tn = 8, E = 6, K = 2, R = 4;  // 2 sequences of 4 rows
    c.make = [=](uint64_t seed) {
        std::mt19937_64 rng(seed);
        OpTensor s = input("scores", Tn, E, rng, 0.05f, 0.95f);
        return OpInstance{{s, ints("ids", {0, 1, 2, 3, 0, 4, 1, 5, 2, 0, 3, 1, 4, 5, 0, 2}, K)}};
    };
    c.forward = [=](Backend& b, const OpInstance& in) {
        const BalanceLossResult r = b.balance_loss(T(b, in, "scores"), T(b, in, "ids"), R, K, 0.3f);
        return OpOutputs{{float(r.loss)}};
    };
    c.backward = [=](Backend& b, const OpInstance& in, const OpOutputs& d) {
        BalanceLossResult r = b.balance_loss(T(b, in, "scores"), T(b, in, "ids"), R, K, 0.3f);
        b.scale_inplace(r.d_scores, d[0][0]);
        return OpOutputs{b.download(r.d_scores)};
    };
    c.cuda_nmse = 1e-9;
    return c;
}

// ---- FFN pieces and routed experts --------------------------------------------------------------

// rows × cols: 4 × 10 runs the CUDA kernels four elements a thread, 3 × 5 one at a time.
OpCase swiglu_case(int64_t rows = 4, int64_t cols = 10) {
    OpCase c;
    c.name = rows * cols % 4 == 0 ? "swiglu" : "swiglu_odd";
    c.make = [rows, cols](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("g", rows, cols, rng, -3.0f, 3.0f), input("u", rows, cols, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{b.download(b.swiglu(T(b, in, "g"), T(b, in, "u")))};
    };
    c.backward = [rows, cols](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor dg, du;
        b.swiglu_backward(T(b, in, "g"), T(b, in, "u"), D(b, d, 0, rows, cols), dg, du);
        return OpOutputs{b.download(dg), b.download(du)};
    };
    c.cuda_nmse = 1e-10;
    return c;
}

// 6 tokens, top-2 of 4 experts (expert 3 gets none: its gradients must stay exactly zero), hidden 8,
// expert width 5, optional LoRA of rank 2 on every projection.
struct MoeShape {
    int64_t T = 6, E = 4, K = 2, H = 8, I = 5, r = 2;
};

OpCase moe_case(const char* name, bool lora, float dropout) {
    OpCase c;
    c.name = name;
    const MoeShape s;
    c.make = [=](uint64_t seed) {
        std::mt19937_64 rng(seed);
        OpInstance in{{input("x", s.T, s.H, rng), input("w", s.T, s.K, rng, 0.2f, 1.2f),
                       ints("ids", {0, 1, 2, 0, 1, 2, 0, 2, 1, 0, 2, 1}, s.K),
                       input("gate", s.E * s.I, s.H, rng), input("up", s.E * s.I, s.H, rng),
                       input("down", s.E * s.H, s.I, rng)}};
        if (lora)
            for (const char* p : {"gate", "up", "down"}) {
                const int64_t in_w = std::string(p) == "down" ? s.I : s.H, out_w = std::string(p) == "down" ? s.H : s.I;
                in.inputs.push_back(input(std::string(p) + "_a", s.E * s.r, in_w, rng));
                in.inputs.push_back(input(std::string(p) + "_b", s.E * out_w, s.r, rng));
            }
        return in;
    };
    auto lora_of = [=](Backend& b, const OpInstance& in) {
        ExpertLora l;
        l.rank = s.r;
        uint64_t seed = 11;
        for (auto [w, p] : {std::pair{&l.gate, "gate"}, {&l.up, "up"}, {&l.down, "down"}}) {
            *w = LoraWeights{to_tensor(b, in.at(std::string(p) + "_a")), to_tensor(b, in.at(std::string(p) + "_b")),
                             0.5f, dropout, ++seed};
        }
        return l;
    };
    auto experts = [](Backend& b, const OpInstance& in) {
        return b.expert_set_from_tensors(T(b, in, "gate"), T(b, in, "up"), T(b, in, "down"), 4);
    };
    c.forward = [=](Backend& b, const OpInstance& in) {
        const RouterOutput r{T(b, in, "ids"), T(b, in, "w")};
        const ExpertLora l = lora ? lora_of(b, in) : ExpertLora{};
        return OpOutputs{b.download(b.moe_experts_train(T(b, in, "x"), r, experts(b, in), lora ? &l : nullptr))};
    };
    c.backward = [=](Backend& b, const OpInstance& in, const OpOutputs& d) {
        const RouterOutput r{T(b, in, "ids"), T(b, in, "w")};
        const ExpertLora l = lora ? lora_of(b, in) : ExpertLora{};
        ExpertGrads g{zeros_like(b, in.at("gate")), zeros_like(b, in.at("up")), zeros_like(b, in.at("down"))};
        ExpertLoraGrads lg;
        if (lora)
            for (auto [gr, p] : {std::pair{&lg.gate, "gate"}, {&lg.up, "up"}, {&lg.down, "down"}})
                *gr = LoraGrads{zeros_like(b, in.at(std::string(p) + "_a")), zeros_like(b, in.at(std::string(p) + "_b"))};
        Tensor dw;
        const Tensor dx = b.moe_experts_backward(T(b, in, "x"), r, experts(b, in), lora ? &l : nullptr,
                                                 D(b, d, 0, s.T, s.H), dw, &g, lora ? &lg : nullptr);
        OpOutputs out{b.download(dx), b.download(dw), b.download(g.gate), b.download(g.up), b.download(g.down)};
        if (lora)
            for (const LoraGrads* gr : {&lg.gate, &lg.up, &lg.down}) {
                out.push_back(b.download(gr->a));
                out.push_back(b.download(gr->b));
            }
        return out;
    };
    // CUDA's backward chains several bf16 roundings (w·dy, the SwiGLU rows, [dg|du], the LoRA rank
    // products z and dz, the dropped-out inputs) and these shapes have few elements (hidden 8, width 5,
    // rank 2), so one seed's NMSE varies a lot: an emulation of exactly those roundings gave at most
    // 4.1e-5 without LoRA, 7.5e-5 with it and 2.1e-4 with LoRA dropout over 400 seeds. A wrong
    // transposition, mask index or group offset gives NMSE >= 1e-2.
    c.cuda_nmse = !lora ? 3e-4 : (dropout > 0.0f ? 1e-3 : 3e-4);
    return c;
}

// ---- losses and helpers -----------------------------------------------------------------------

OpCase cross_entropy_case() {
    OpCase c;
    c.name = "cross_entropy";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("logits", 5, 9, rng, -4.0f, 4.0f), ints("targets", {3, -1, 8, 0, 3})}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{{float(b.cross_entropy(T(b, in, "logits"), T(b, in, "targets"), 1.0f).loss_sum)}};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        return OpOutputs{b.download(b.cross_entropy(T(b, in, "logits"), T(b, in, "targets"), d[0][0]).d_logits)};
    };
    c.cuda_nmse = 1e-10;
    return c;
}

OpCase dropout_case() {
    OpCase c;
    c.name = "dropout";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 4, 6, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{b.download(b.dropout(T(b, in, "x"), 0.3f, 77))};
    };
    c.backward = [](Backend& b, const OpInstance&, const OpOutputs& d) {
        return OpOutputs{b.download(b.dropout(D(b, d, 0, 4, 6), 0.3f, 77))};
    };
    c.cuda_nmse = 1e-12;
    return c;
}

OpCase gather_case() {
    OpCase c;
    c.name = "gather_rows";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("x", 5, 3, rng), ints("idx", {4, 0, 4, 2})}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        return OpOutputs{b.download(b.gather_rows(T(b, in, "x"), T(b, in, "idx")))};
    };
    c.backward = [](Backend& b, const OpInstance& in, const OpOutputs& d) {
        Tensor dx = zeros_like(b, in.at("x"));
        b.scatter_add_rows(D(b, d, 0, 4, 3), T(b, in, "idx"), dx);
        return OpOutputs{b.download(dx)};
    };
    c.cuda_nmse = 1e-12;
    return c;
}

OpCase scale_add_case() {
    OpCase c;
    c.name = "scale_add";
    c.make = [](uint64_t seed) {
        std::mt19937_64 rng(seed);
        return OpInstance{{input("y", 3, 5, rng), input("x", 3, 5, rng)}};
    };
    c.forward = [](Backend& b, const OpInstance& in) {
        Tensor y = T(b, in, "y");
        b.scale_add(y, T(b, in, "x"), -0.75f);
        return OpOutputs{b.download(y)};
    };
    c.backward = [](Backend& b, const OpInstance&, const OpOutputs& d) {
        Tensor dx = D(b, d, 0, 3, 5);
        b.scale_inplace(dx, -0.75f);
        return OpOutputs{d[0], b.download(dx)};
    };
    c.cuda_nmse = 1e-12;
    return c;
}

std::vector<OpCase> build_table() {
    std::vector<OpCase> t;
    t.push_back(linear_case());
    t.push_back(linear_lora_case());
    t.push_back(linear_lora_group_case());
    t.push_back(embedding_case());
    t.push_back(rmsnorm_case());
    t.push_back(rope_case(true));
    t.push_back(rope_case(false));
    t.push_back(attention_case("attention_train_mla", AttentionDims{2, 2, 10, 6, 0.35f}));
    t.push_back(attention_case("attention_train_gqa", AttentionDims{4, 2, 8, 8, 0.35f}));
    t.push_back(mla_split_case());
    t.push_back(router_case("router_sigmoid_grouped_v3",
                            router_params(8, 2, 4, 2, ScoringFunc::Sigmoid, TopkMethod::NoauxTc, true, 2.5f,
                                          RouterScaling::Always),
                            true));
    t.push_back(router_case("router_softmax_greedy_v2",
                            router_params(8, 2, 1, 1, ScoringFunc::Softmax, TopkMethod::Greedy, false, 16.0f,
                                          RouterScaling::OnlyWhenNotNormalised),
                            false));
    t.push_back(router_case("router_softmax_group_limited_norm_v2",
                            router_params(8, 3, 4, 2, ScoringFunc::Softmax, TopkMethod::GroupLimitedGreedy, true, 16.0f,
                                          RouterScaling::OnlyWhenNotNormalised),
                            false));
    t.push_back(balance_case());
    t.push_back(swiglu_case());
    t.push_back(swiglu_case(3, 5));
    t.push_back(moe_case("moe_experts", false, 0.0f));
    t.push_back(moe_case("moe_experts_lora", true, 0.0f));
    t.push_back(moe_case("moe_experts_lora_dropout", true, 0.25f));
    t.push_back(cross_entropy_case());
    t.push_back(dropout_case());
    t.push_back(gather_case());
    t.push_back(scale_add_case());
    return t;
}

}  // namespace

const std::vector<OpCase>& op_table() {
    static const std::vector<OpCase> table = build_table();
    return table;
}

}  // namespace moe::test
