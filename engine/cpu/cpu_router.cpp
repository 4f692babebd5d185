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

}  // namespace

RouterOutput CpuBackend::route(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& p) {
    check_params(p);
    const int64_t T = x.rows(), E = p.n_experts, K = p.top_k;
    const CpuWeightStorage& g = weight_storage(gate);
    if (g.rows != E || g.cols != x.cols()) throw_invalid_argument("route: gate weight has the wrong shape");
    if (bias) require_shape(*bias, 1, E, "route bias");

    std::vector<float> scores(size_t(T * E));
    matmul_wt(f32(x), T, g, scores.data());  // fp32 router logits

    RouterOutput out{make_tensor(T, K, DType::I32), make_tensor(T, K)};
    int32_t* ids = i32(out.expert_ids);
    float* weights = f32(out.weights);
    for (int64_t t = 0; t < T; ++t) {
        float* s = scores.data() + t * E;
        score_inplace(s, E, p.scoring);
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

}  // namespace moe
