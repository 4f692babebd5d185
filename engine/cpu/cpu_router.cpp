// CPU: the MoE router (kernels/router.cu, tests/model/router_test.cpp). Semantics of the HF-hub
// remote code / HF transformers (doc §3.5, §3.6, §8):
//   logits = x · W_gᵀ in fp32; s = sigmoid(logits) or softmax(logits)
//   choice = s + e_score_correction_bias (bias: selection only)
//   noaux_tc:             group score = sum of the top-2 choice values in the group
//   group_limited_greedy: group score = max choice value in the group
//   greedy:               no groups
//   keep topk_group groups; others' experts get group_mask_value; top_k experts by choice
//   w = s[chosen]  (no bias); normalise by (sum + 1e-20) if norm_topk_prob; scale by
//   routed_scaling_factor (V3: always; V2: only when not normalising)
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

namespace {

void score_inplace(float* s, int64_t n, ScoringFunc f) {
    if (f == ScoringFunc::Sigmoid) {
        for (int64_t e = 0; e < n; ++e) s[e] = 1.0f / (1.0f + std::exp(-s[e]));
        return;
    }
    const float max_v = *std::max_element(s, s + n);
    float sum = 0.0f;
    for (int64_t e = 0; e < n; ++e) {
        s[e] = std::exp(s[e] - max_v);
        sum += s[e];
    }
    for (int64_t e = 0; e < n; ++e) s[e] /= sum;
}

// Indices of the k largest values, largest first; ties go to the lower index (deterministic).
std::vector<int32_t> top_k_indices(const std::vector<float>& v, int64_t k) {
    std::vector<int32_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        return v[size_t(a)] > v[size_t(b)] || (v[size_t(a)] == v[size_t(b)] && a < b);
    });
    idx.resize(size_t(k));
    return idx;
}

// The group score of one group's choice values.
float group_score(const float* choice, int64_t group_size, TopkMethod method) {
    if (method == TopkMethod::GroupLimitedGreedy) return *std::max_element(choice, choice + group_size);
    // noaux_tc: sum of the top-2
    float first = -INFINITY, second = -INFINITY;
    for (int64_t i = 0; i < group_size; ++i) {
        if (choice[i] > first) {
            second = first;
            first = choice[i];
        } else if (choice[i] > second) {
            second = choice[i];
        }
    }
    return group_size >= 2 ? first + second : first;
}

// Masks (sets to p.group_mask_value) the experts of every group not among the topk_group best.
void mask_groups(std::vector<float>& choice, const RouterParams& p) {
    const int64_t group_size = p.n_experts / p.n_group;
    std::vector<float> scores(size_t(p.n_group));
    for (int64_t g = 0; g < p.n_group; ++g)
        scores[size_t(g)] = group_score(choice.data() + g * group_size, group_size, p.method);
    const std::vector<int32_t> kept = top_k_indices(scores, p.topk_group);
    std::vector<bool> keep(size_t(p.n_group), false);
    for (int32_t g : kept) keep[size_t(g)] = true;
    for (int64_t e = 0; e < p.n_experts; ++e)
        if (!keep[size_t(e / group_size)]) choice[size_t(e)] = p.group_mask_value;
}

// Normalisation and routed_scaling_factor, per the V3 or V2 rule.
void finish_weights(float* w, const RouterParams& p) {
    float sum = 0.0f;
    for (int64_t k = 0; k < p.top_k; ++k) sum += w[k];
    if (p.scaling == RouterScaling::Always) {
        if (p.norm_topk_prob)
            for (int64_t k = 0; k < p.top_k; ++k) w[k] /= (sum + 1e-20f);
        for (int64_t k = 0; k < p.top_k; ++k) w[k] *= p.routed_scaling_factor;
        return;
    }
    if (p.top_k > 1 && p.norm_topk_prob) {
        for (int64_t k = 0; k < p.top_k; ++k) w[k] /= (sum + 1e-20f);
    } else {
        for (int64_t k = 0; k < p.top_k; ++k) w[k] *= p.routed_scaling_factor;
    }
}

void check_params(const RouterParams& p) {
    if (p.n_experts <= 0 || p.top_k <= 0 || p.top_k > p.n_experts) throw_invalid_argument("route: bad top_k");
    if (p.n_group <= 0 || p.n_experts % p.n_group != 0 || p.topk_group <= 0 || p.topk_group > p.n_group)
        throw_invalid_argument("route: bad n_group / topk_group");
}

// Selection and weights of every row of scores s [T, E] (already through sigmoid/softmax).
RouterOutput select_experts(const float* scores, int64_t T, const Tensor* bias, const RouterParams& p) {
    const int64_t E = p.n_experts, K = p.top_k;
    RouterOutput out{make_tensor(T, K, DType::I32), make_tensor(T, K)};
    int32_t* ids = i32(out.expert_ids);
    float* weights = f32(out.weights);
    for (int64_t t = 0; t < T; ++t) {
        const float* s = scores + t * E;
        std::vector<float> choice(s, s + E);
        if (bias)
            for (int64_t e = 0; e < E; ++e) choice[size_t(e)] += f32(*bias)[e];
        if (p.method != TopkMethod::Greedy) mask_groups(choice, p);
        const std::vector<int32_t> chosen = top_k_indices(choice, K);
        for (int64_t k = 0; k < K; ++k) {
            ids[t * K + k] = chosen[size_t(k)];
            weights[t * K + k] = s[chosen[size_t(k)]];
        }
        finish_weights(weights + t * K, p);
    }
    return out;
}

// The factor a and whether the chosen scores are normalised: w_k = a · s_k (/ (Σ s + 1e-20)).
std::pair<float, bool> weight_rule(const RouterParams& p) {
    if (p.scaling == RouterScaling::Always) return {p.routed_scaling_factor, p.norm_topk_prob};
    if (p.top_k > 1 && p.norm_topk_prob) return {1.0f, true};
    return {p.routed_scaling_factor, false};
}

}  // namespace

RouterOutput CpuBackend::route(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& p) {
    check_params(p);
    const int64_t T = x.rows(), E = p.n_experts;
    const CpuWeightStorage& g = weight_storage(gate);
    if (g.rows != E || g.cols != x.cols()) throw_invalid_argument("route: gate weight has the wrong shape");
    if (bias) require_shape(*bias, 1, E, "route bias");

    std::vector<float> scores(size_t(T * E));
    matmul_wt(f32(x), T, g, scores.data());  // fp32 router logits
    for (int64_t t = 0; t < T; ++t) score_inplace(scores.data() + t * E, E, p.scoring);
    return select_experts(scores.data(), T, bias, p);
}

// ---- training ------------------------------------------------------------------------------------
// route_backward, with w_k = a · s_{e_k} / (S + 1e-20) (S = Σ_k s_{e_k}) when normalised:
//   ds_{e_j} = a/(S+1e-20) · (dw_j − Σ_k dw_k s_{e_k}/(S+1e-20))      (else ds_{e_j} = a · dw_j)
// then through the scoring function: sigmoid ds·s(1−s); softmax s ⊙ (ds − Σ ds ⊙ s).
// balance_loss per sequence of R rows: f_i = E/(K R) · hits_i, s' = s / Σ_j s_j, P_i = mean_t s'_i,
//   loss = coeff · Σ_i f_i P_i;  ds'_{t,i} = coeff f_i / R;  ds_{t,i} = (ds'_{t,i} − Σ_j ds'_{t,j} s'_{t,j}) / Σ_j s_{t,j}

RouterOutput CpuBackend::route_from_logits(const Tensor& logits, const Tensor* bias, const RouterParams& p,
                                           Tensor& scores) {
    check_params(p);
    const int64_t T = logits.rows(), E = p.n_experts;
    require_shape(logits, T, E, "route_from_logits logits");
    if (bias) require_shape(*bias, 1, E, "route_from_logits bias");
    scores = make_tensor(T, E);
    std::copy_n(f32(logits), T * E, f32(scores));
    for (int64_t t = 0; t < T; ++t) score_inplace(f32(scores) + t * E, E, p.scoring);
    return select_experts(f32(scores), T, bias, p);
}

Tensor CpuBackend::route_backward(const Tensor& scores, const RouterOutput& routing, const Tensor& d_weights,
                                  const Tensor* d_scores, const RouterParams& p) {
    const int64_t T = scores.rows(), E = p.n_experts, K = p.top_k;
    require_shape(scores, T, E, "route_backward scores");
    require_shape(routing.expert_ids, T, K, "route_backward expert_ids");
    require_shape(d_weights, T, K, "route_backward d_weights");
    if (d_scores) require_shape(*d_scores, T, E, "route_backward d_scores");
    const auto [a, normalised] = weight_rule(p);
    Tensor d_logits = make_tensor(T, E);
    const float* ps = f32(scores);
    const int32_t* ids = i32(routing.expert_ids);
    const float* pdw = f32(d_weights);
    float* pdl = f32(d_logits);
    std::vector<float> ds(static_cast<size_t>(E));
    for (int64_t t = 0; t < T; ++t) {
        const float* s = ps + t * E;
        if (d_scores)
            std::copy_n(f32(*d_scores) + t * E, E, ds.data());
        else
            std::fill(ds.begin(), ds.end(), 0.0f);
        const int32_t* id = ids + t * K;
        const float* dw = pdw + t * K;
        if (normalised) {
            float sum = 0.0f, dot_ws = 0.0f;
            for (int64_t k = 0; k < K; ++k) sum += s[id[k]];
            const float denom = sum + 1e-20f;
            for (int64_t k = 0; k < K; ++k) dot_ws += dw[k] * s[id[k]];
            for (int64_t k = 0; k < K; ++k) ds[size_t(id[k])] += a / denom * (dw[k] - dot_ws / denom);
        } else {
            for (int64_t k = 0; k < K; ++k) ds[size_t(id[k])] += a * dw[k];
        }
        float* dl = pdl + t * E;
        if (p.scoring == ScoringFunc::Sigmoid) {
            for (int64_t e = 0; e < E; ++e) dl[e] = ds[size_t(e)] * s[e] * (1.0f - s[e]);
        } else {
            float dot_ss = 0.0f;
            for (int64_t e = 0; e < E; ++e) dot_ss += ds[size_t(e)] * s[e];
            for (int64_t e = 0; e < E; ++e) dl[e] = s[e] * (ds[size_t(e)] - dot_ss);
        }
    }
    return d_logits;
}

BalanceLossResult CpuBackend::balance_loss(const Tensor& scores, const Tensor& expert_ids, int64_t R, int64_t K,
                                           float coeff) {
    const int64_t T = scores.rows(), E = scores.cols();
    require_shape(expert_ids, T, K, "balance_loss expert_ids");
    if (R <= 0 || T % R != 0) throw_invalid_argument("balance_loss: rows are not whole sequences");
    BalanceLossResult out{0.0, make_tensor(T, E)};
    const float* ps = f32(scores);
    const int32_t* ids = i32(expert_ids);
    float* pd = f32(out.d_scores);
    std::vector<float> f(static_cast<size_t>(E)), P(static_cast<size_t>(E)), row_sum(static_cast<size_t>(R));
    for (int64_t b = 0; b < T / R; ++b) {
        const int64_t r0 = b * R;
        std::fill(f.begin(), f.end(), 0.0f);
        std::fill(P.begin(), P.end(), 0.0f);
        for (int64_t t = r0; t < r0 + R; ++t)
            for (int64_t k = 0; k < K; ++k) f[size_t(ids[t * K + k])] += float(E) / float(K * R);
        for (int64_t t = r0; t < r0 + R; ++t) {
            float sum = 0.0f;
            for (int64_t e = 0; e < E; ++e) sum += ps[t * E + e];
            row_sum[size_t(t - r0)] = sum;
            for (int64_t e = 0; e < E; ++e) P[size_t(e)] += ps[t * E + e] / sum / float(R);
        }
        double lb = 0.0;
        for (int64_t e = 0; e < E; ++e) lb += double(f[size_t(e)]) * double(P[size_t(e)]);
        out.loss += double(coeff) * lb;
        for (int64_t t = r0; t < r0 + R; ++t) {
            const float sum = row_sum[size_t(t - r0)];
            float dot = 0.0f;  // Σ_j ds'_j s'_j
            for (int64_t e = 0; e < E; ++e) dot += coeff * f[size_t(e)] / float(R) * ps[t * E + e] / sum;
            for (int64_t e = 0; e < E; ++e) pd[t * E + e] = (coeff * f[size_t(e)] / float(R) - dot) / sum;
        }
    }
    return out;
}

std::vector<int64_t> CpuBackend::expert_counts(const Tensor& expert_ids, int64_t n_experts) {
    std::vector<int64_t> counts(size_t(n_experts), 0);
    const int32_t* ids = i32(expert_ids);
    for (int64_t i = 0; i < expert_ids.numel(); ++i) {
        if (ids[i] < 0 || ids[i] >= n_experts) throw_invalid_argument("expert_counts: expert id out of range");
        ++counts[size_t(ids[i])];
    }
    return counts;
}

}  // namespace moe
