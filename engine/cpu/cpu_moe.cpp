// CPU: SwiGLU FFN and the routed-expert mixture (kernels/moe.cu, tests/model/moe_test.cpp), and
// their training forms (tests/train/op_grad_test.cpp).
//   ffn(x)  = down(silu(gate x) * up x)
//   moe(x)  = Σ_k w_k · Expert_{id_k}(x)       accumulated in fp32, expert by expert
// Training: each expert may carry LoRA on gate/up/down (P x + s·(drop(x) Aᵀ) Bᵀ with the expert's
// own A, B rows; never a dense delta). Backward per expert over its n tokens, with dY_e = w ⊙ dy:
//   d_weight[t,k] = dy_t · y_e(x_t);  dh = dY_e D;  dD += dY_eᵀ h;  (dg, du) = swiglu'(g, u, dh);
//   dx += dg G + du U;  dG += dgᵀ x;  dU += duᵀ x   (+ the LoRA terms through A and B)
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "counter_rng.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_matmul.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

namespace {

float silu(float v) {
    return v / (1.0f + std::exp(-v));
}

// x [n, hidden] -> out [n, hidden] through one SwiGLU FFN.
void ffn_rows(const float* x, int64_t n, const FfnWeights& w, float* out) {
    const CpuWeightStorage& gate = weight_storage(w.gate);
    const CpuWeightStorage& up = weight_storage(w.up);
    const CpuWeightStorage& down = weight_storage(w.down);
    if (up.rows != gate.rows || down.cols != gate.rows || up.cols != gate.cols || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    const int64_t inter = gate.rows;
    std::vector<float> g(size_t(n * inter)), u(size_t(n * inter));
    matmul_wt(x, n, gate, g.data());
    matmul_wt(x, n, up, u.data());
    for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    matmul_wt(g.data(), n, down, out);
}

}  // namespace

Tensor CpuBackend::ffn(const Tensor& x, const FfnWeights& w) {
    if (x.cols() != w.gate.cols()) throw_invalid_argument("ffn: x width does not match the gate weight");
    Tensor out = make_tensor(x.rows(), x.cols());
    ffn_rows(f32(x), x.rows(), w, f32(out));
    return out;
}

Tensor CpuBackend::moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& set) {
    const auto* s = dynamic_cast<const CpuExpertSetStorage*>(set.storage.get());
    if (!s) throw_invalid_argument("moe_experts: expert set does not belong to the CPU backend");
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, "moe_experts expert_ids");
    require_shape(routing.weights, T, K, "moe_experts weights");
    const int32_t* ids = i32(routing.expert_ids);
    const float* weights = f32(routing.weights);
    const float* px = f32(x);

    // Which (token, weight) pairs go to each expert, in token order.
    const int64_t E = int64_t(s->experts.size());
    std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<size_t>(E));
    for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k) {
            const int32_t e = ids[t * K + k];
            if (e < 0 || e >= E)
                throw_invalid_argument("moe_experts: expert id " + std::to_string(e) + " out of range");
            assigned[size_t(e)].push_back({t, weights[t * K + k]});
        }

    Tensor out = make_tensor(T, H);
    float* po = f32(out);
    std::vector<float> xs, ys;
    for (int64_t e = 0; e < E; ++e) {
        const auto& tokens = assigned[size_t(e)];
        if (tokens.empty()) continue;
        const int64_t n = int64_t(tokens.size());
        xs.resize(size_t(n * H));
        ys.resize(size_t(n * H));
        for (int64_t i = 0; i < n; ++i) std::copy_n(px + tokens[size_t(i)].first * H, H, xs.data() + i * H);
        ffn_rows(xs.data(), n, s->experts[size_t(e)], ys.data());
        for (int64_t i = 0; i < n; ++i) {
            const auto [t, w] = tokens[size_t(i)];
            for (int64_t j = 0; j < H; ++j) po[t * H + j] += w * ys[size_t(i * H + j)];
        }
    }
    return out;
}

// ---- training ------------------------------------------------------------------------------------

Tensor CpuBackend::swiglu(const Tensor& g, const Tensor& u) {
    require_shape(u, g.rows(), g.cols(), "swiglu u");
    Tensor h = make_tensor(g.rows(), g.cols());
    const float *pg = f32(g), *pu = f32(u);
    float* ph = f32(h);
    for (int64_t i = 0; i < g.numel(); ++i) ph[i] = silu(pg[i]) * pu[i];
    return h;
}

namespace {

// silu'(v) = σ(v) (1 + v (1 − σ(v)))
float silu_grad(float v) {
    const float sig = 1.0f / (1.0f + std::exp(-v));
    return sig * (1.0f + v * (1.0f - sig));
}

void swiglu_backward_rows(const float* g, const float* u, const float* dh, int64_t n, float* dg, float* du) {
    for (int64_t i = 0; i < n; ++i) {
        dg[i] = dh[i] * u[i] * silu_grad(g[i]);
        du[i] = dh[i] * silu(g[i]);
    }
}

}  // namespace

void CpuBackend::swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du) {
    require_shape(u, g.rows(), g.cols(), "swiglu_backward u");
    require_shape(dh, g.rows(), g.cols(), "swiglu_backward dh");
    dg = make_tensor(g.rows(), g.cols());
    du = make_tensor(g.rows(), g.cols());
    swiglu_backward_rows(f32(g), f32(u), f32(dh), g.numel(), f32(dg), f32(du));
}

namespace {

// One LoRA'd projection of one expert: W [out, in] f32 plus optional A_e [r, in], B_e [out, r].
struct ExpertProj {
    const float* w = nullptr;
    int64_t out = 0, in = 0;
    const float* a = nullptr;  // null: no LoRA
    const float* b = nullptr;
    int64_t r = 0;
    float scale = 1.0f, dropout = 0.0f;
    uint64_t seed = 0;
    // Where this projection's LoRA gradients go (null: frozen / no LoRA).
    float* da = nullptr;
    float* db = nullptr;
    float* dw = nullptr;  // the base weight's gradient rows (null: frozen)
};

// x as it enters A: dropout keyed by the slot (t*K + k) of each row, so backward re-derives it.
std::vector<float> lora_input(const ExpertProj& p, const float* x, const std::vector<int64_t>& slots) {
    const int64_t n = int64_t(slots.size());
    std::vector<float> xd(x, x + n * p.in);
    if (p.dropout > 0.0f)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < p.in; ++j)
                xd[size_t(i * p.in + j)] *= rng::dropout_scale(p.seed, uint64_t(slots[size_t(i)] * p.in + j), p.dropout);
    return xd;
}

// y [n, out] = x Wᵀ + scale · (drop(x) Aᵀ) Bᵀ
void proj_forward(const ExpertProj& p, const float* x, const std::vector<int64_t>& slots, float* y) {
    const int64_t n = int64_t(slots.size());
    mm_nt(x, n, p.in, p.w, p.out, y, false);
    if (!p.a) return;
    const std::vector<float> xd = lora_input(p, x, slots);
    std::vector<float> z(size_t(n * p.r)), d(size_t(n * p.out));
    mm_nt(xd.data(), n, p.in, p.a, p.r, z.data(), false);
    mm_nt(z.data(), n, p.r, p.b, p.out, d.data(), false);
    for (int64_t i = 0; i < n * p.out; ++i) y[i] += p.scale * d[size_t(i)];
}

// dx [n, in] += dy W (+ LoRA path); dW += dyᵀ x; dA, dB accumulated.
void proj_backward(const ExpertProj& p, const float* x, const std::vector<int64_t>& slots, const float* dy,
                   float* dx) {
    const int64_t n = int64_t(slots.size());
    mm_nn(dy, n, p.out, p.w, p.in, dx, true);
    if (p.dw) mm_tn(dy, n, p.out, x, p.in, p.dw);
    if (!p.a) return;
    const std::vector<float> xd = lora_input(p, x, slots);
    std::vector<float> z(size_t(n * p.r)), dz(size_t(n * p.r)), dxd(size_t(n * p.in));
    mm_nt(xd.data(), n, p.in, p.a, p.r, z.data(), false);
    mm_nn(dy, n, p.out, p.b, p.r, dz.data(), false);  // dz = dy B
    for (float& v : dz) v *= p.scale;
    if (p.db) {
        std::vector<float> dys(dy, dy + n * p.out);
        for (float& v : dys) v *= p.scale;
        mm_tn(dys.data(), n, p.out, z.data(), p.r, p.db);  // dB += scale · dyᵀ z
    }
    if (p.da) mm_tn(dz.data(), n, p.r, xd.data(), p.in, p.da);  // dA += dzᵀ drop(x)
    mm_nn(dz.data(), n, p.r, p.a, p.in, dxd.data(), false);     // d drop(x) = dz A
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < p.in; ++j) {
            const float m = p.dropout > 0.0f
                                ? rng::dropout_scale(p.seed, uint64_t(slots[size_t(i)] * p.in + j), p.dropout)
                                : 1.0f;
            dx[i * p.in + j] += m * dxd[size_t(i * p.in + j)];
        }
}

// The tokens routed to each expert: (row t, slot t*K + k, weight), in token order.
struct Assignment {
    int64_t t, slot;
    float w;
};
std::vector<std::vector<Assignment>> assign(const RouterOutput& routing, int64_t T, int64_t E) {
    const int64_t K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, "moe expert_ids");
    require_shape(routing.weights, T, K, "moe weights");
    std::vector<std::vector<Assignment>> a(static_cast<size_t>(E));
    const int32_t* ids = i32(routing.expert_ids);
    const float* w = f32(routing.weights);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k) {
            const int32_t e = ids[t * K + k];
            if (e < 0 || e >= E) throw_invalid_argument("moe: expert id " + std::to_string(e) + " out of range");
            a[size_t(e)].push_back({t, t * K + k, w[t * K + k]});
        }
    return a;
}

// Expert e's three projections as f32 (copied out of the weight storage into `scratch`), with
// its LoRA rows and gradient rows when given.
struct ExpertProjs {
    ExpertProj gate, up, down;
};
ExpertProjs expert_projs(const FfnWeights& w, int64_t e, const ExpertLora* lora, ExpertGrads* grads,
                         ExpertLoraGrads* lg, std::vector<float>& scratch) {
    const CpuWeightStorage &G = weight_storage(w.gate), &U = weight_storage(w.up), &D = weight_storage(w.down);
    const int64_t I = G.rows, H = G.cols;
    scratch.resize(size_t(3 * I * H));
    ExpertProjs p;
    p.gate = {G.rows_f32(0, I, scratch.data()), I, H};
    p.up = {U.rows_f32(0, I, scratch.data() + I * H), I, H};
    p.down = {D.rows_f32(0, H, scratch.data() + 2 * I * H), H, I};
    if (grads) {
        p.gate.dw = f32(grads->gate) + e * I * H;
        p.up.dw = f32(grads->up) + e * I * H;
        p.down.dw = f32(grads->down) + e * H * I;
    }
    if (lora) {
        const int64_t r = lora->rank;
        auto set = [&](ExpertProj& q, const LoraWeights& l, LoraGrads* g) {
            q.r = r;
            q.a = f32(l.a) + e * r * q.in;
            q.b = f32(l.b) + e * q.out * r;
            q.scale = l.scale;
            q.dropout = l.dropout;
            q.seed = l.seed;
            if (g && !g->a.empty()) q.da = f32(g->a) + e * r * q.in;
            if (g && !g->b.empty()) q.db = f32(g->b) + e * q.out * r;
        };
        set(p.gate, lora->gate, lg ? &lg->gate : nullptr);
        set(p.up, lora->up, lg ? &lg->up : nullptr);
        set(p.down, lora->down, lg ? &lg->down : nullptr);
    }
    return p;
}

const CpuExpertSetStorage& expert_storage(const ExpertSet& set) {
    const auto* s = dynamic_cast<const CpuExpertSetStorage*>(set.storage.get());
    if (!s) throw_invalid_argument("moe: expert set does not belong to the CPU backend");
    return *s;
}

std::vector<float> gather(const float* x, int64_t H, const std::vector<Assignment>& a) {
    std::vector<float> xs(a.size() * size_t(H));
    for (size_t i = 0; i < a.size(); ++i) std::copy_n(x + a[i].t * H, H, xs.data() + int64_t(i) * H);
    return xs;
}

std::vector<int64_t> slots_of(const std::vector<Assignment>& a) {
    std::vector<int64_t> s;
    for (const Assignment& x : a) s.push_back(x.slot);
    return s;
}

// One expert's forward over its rows: g, u [n, I], h = silu(g) u, y [n, H].
struct ExpertActs {
    std::vector<float> g, u, h, y;
};
ExpertActs expert_forward(const ExpertProjs& p, const float* xs, const std::vector<int64_t>& slots) {
    const int64_t n = int64_t(slots.size()), I = p.gate.out, H = p.gate.in;
    ExpertActs a{std::vector<float>(size_t(n * I)), std::vector<float>(size_t(n * I)), std::vector<float>(size_t(n * I)),
                 std::vector<float>(size_t(n * H))};
    proj_forward(p.gate, xs, slots, a.g.data());
    proj_forward(p.up, xs, slots, a.u.data());
    for (size_t i = 0; i < a.h.size(); ++i) a.h[i] = silu(a.g[i]) * a.u[i];
    proj_forward(p.down, a.h.data(), slots, a.y.data());
    return a;
}

}  // namespace

// Keeps nothing (`keep` stays null): the reference recomputes the forward in backward.
Tensor CpuBackend::moe_experts_train(const Tensor& x, const RouterOutput& routing, const ExpertSet& set,
                                     const ExpertLora* lora, std::shared_ptr<ExpertRows>*) {
    const CpuExpertSetStorage& s = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), E = int64_t(s.experts.size());
    const auto assigned = assign(routing, T, E);
    Tensor out = make_tensor(T, H);
    float* po = f32(out);
    std::vector<float> scratch;
    for (int64_t e = 0; e < E; ++e) {
        const auto& a = assigned[size_t(e)];
        if (a.empty()) continue;
        const ExpertProjs p = expert_projs(s.experts[size_t(e)], e, lora, nullptr, nullptr, scratch);
        const std::vector<int64_t> slots = slots_of(a);
        const ExpertActs acts = expert_forward(p, gather(f32(x), H, a).data(), slots);
        for (size_t i = 0; i < a.size(); ++i)
            for (int64_t j = 0; j < H; ++j) po[a[i].t * H + j] += a[i].w * acts.y[i * size_t(H) + size_t(j)];
    }
    return out;
}

Tensor CpuBackend::moe_experts_backward(const Tensor& x, const RouterOutput& routing, const ExpertSet& set,
                                        const ExpertLora* lora, const Tensor& dy, Tensor& d_weights,
                                        ExpertGrads* grads, ExpertLoraGrads* lora_grads, const ExpertRows*) {
    const CpuExpertSetStorage& s = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), E = int64_t(s.experts.size()), K = routing.expert_ids.cols();
    require_shape(dy, T, H, "moe_experts_backward dy");
    const auto assigned = assign(routing, T, E);
    Tensor dx = make_tensor(T, H);
    d_weights = make_tensor(T, K);
    float *pdx = f32(dx), *pdw = f32(d_weights);
    const float* pdy = f32(dy);
    std::vector<float> scratch;
    for (int64_t e = 0; e < E; ++e) {
        const auto& a = assigned[size_t(e)];
        if (a.empty()) continue;  // an expert without tokens gets exactly zero gradient
        const ExpertProjs p = expert_projs(s.experts[size_t(e)], e, lora, grads, lora_grads, scratch);
        const std::vector<int64_t> slots = slots_of(a);
        const std::vector<float> xs = gather(f32(x), H, a);
        const ExpertActs acts = expert_forward(p, xs.data(), slots);
        const int64_t n = int64_t(a.size()), I = p.gate.out;
        std::vector<float> dye(size_t(n * H)), dh(size_t(n * I)), dg(size_t(n * I)), du(size_t(n * I)),
            dxs(size_t(n * H));
        for (int64_t i = 0; i < n; ++i) {
            const float* d = pdy + a[size_t(i)].t * H;
            pdw[a[size_t(i)].slot] = dot(d, acts.y.data() + i * H, H);
            for (int64_t j = 0; j < H; ++j) dye[size_t(i * H + j)] = a[size_t(i)].w * d[j];
        }
        proj_backward(p.down, acts.h.data(), slots, dye.data(), dh.data());
        swiglu_backward_rows(acts.g.data(), acts.u.data(), dh.data(), n * I, dg.data(), du.data());
        proj_backward(p.gate, xs.data(), slots, dg.data(), dxs.data());
        proj_backward(p.up, xs.data(), slots, du.data(), dxs.data());
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < H; ++j) pdx[a[size_t(i)].t * H + j] += dxs[size_t(i * H + j)];
    }
    return dx;
}

}  // namespace moe
