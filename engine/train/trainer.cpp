#include "train/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "train/step_profile.h"

namespace moe::train {

double max_violation(const std::vector<int64_t>& load) {
    if (load.empty()) return 0.0;
    const double mean = double(std::accumulate(load.begin(), load.end(), int64_t(0))) / double(load.size());
    if (mean <= 0.0) return 0.0;
    return double(*std::max_element(load.begin(), load.end())) / mean - 1.0;
}

Trainer::Trainer(TrainGraph& graph, ParameterStore& params, Objectives objectives, AdamWConfig adamw)
    : graph_(graph), params_(params), objectives_(objectives), adamw_(adamw) {}

LossScales Trainer::scales_for(const std::vector<MicroBatch>& mbs) const {
    const int64_t D = graph_.mtp_depth();
    int64_t ce = 0, seqs = 0;
    std::vector<int64_t> mtp(size_t(D), 0);
    for (const MicroBatch& b : mbs) {
        ce += ce_tokens(b);
        seqs += b.n_seq;
        for (int64_t k = 0; k < D; ++k) mtp[size_t(k)] += mtp_tokens(b, k);
    }
    if (ce == 0) throw Error("train.no_targets", "", "the step has no token with a loss (every target is masked)");
    LossScales s;
    s.ce = float(1.0 / double(ce));
    for (int64_t k = 0; k < D; ++k)
        s.mtp.push_back(objectives_.mtp_lambda > 0.0f && mtp[size_t(k)] > 0
                            ? float(double(objectives_.mtp_lambda) / double(D) / double(mtp[size_t(k)]))
                            : 0.0f);
    s.balance = objectives_.balance_alpha > 0.0f ? float(double(objectives_.balance_alpha) / double(seqs)) : 0.0f;
    return s;
}

StepResult Trainer::step(const std::vector<MicroBatch>& mbs, float lr, Updates updates) {
    if (mbs.empty()) throw Error("train.empty_batch", "", "a step needs at least one micro-batch");
    const LossScales scales = scales_for(mbs);
    const int64_t D = graph_.mtp_depth();
    params_.zero_grads();
    StepResult r;
    r.lr = lr;
    r.ce_mtp.assign(size_t(D), 0.0);
    r.mtp_tokens.assign(size_t(D), 0);
    std::map<int64_t, std::vector<int64_t>> loads;
    for (size_t i = 0; i < mbs.size(); ++i) {
        const MicroBatch& b = mbs[i];
        params_.set_dropout_key(uint64_t(steps_) * 1024 + i);  // fresh, reproducible dropout masks
        MicroBatchLosses l;
        {
            const StepProfile::Scope p("forward_backward");
            l = graph_.forward_backward(b, scales);
        }
        r.ce += l.ce;
        r.ce_tokens += l.ce_tokens;
        for (int64_t k = 0; k < D; ++k) {
            r.ce_mtp[size_t(k)] += l.mtp[size_t(k)];
            r.mtp_tokens[size_t(k)] += l.mtp_tokens[size_t(k)];
        }
        for (const auto& [layer, v] : l.balance) r.l_bal_per_layer[layer] += v;
        for (const auto& [layer, h] : l.selection) r.balance[layer].selection_hash = r.balance[layer].selection_hash * 31 + h;
        for (const auto& [layer, hits] : l.loads) {
            std::vector<int64_t>& dst = loads[layer];
            dst.resize(hits.size(), 0);
            for (size_t e = 0; e < hits.size(); ++e) dst[e] += hits[e];
        }
        r.tokens += b.rows();
    }
    r.ce /= double(std::max<int64_t>(1, r.ce_tokens));
    for (int64_t k = 0; k < D; ++k) {
        r.ce_mtp[size_t(k)] /= double(std::max<int64_t>(1, r.mtp_tokens[size_t(k)]));
        if (objectives_.mtp_lambda > 0.0f) r.l_mtp += double(objectives_.mtp_lambda) / double(D) * r.ce_mtp[size_t(k)];
    }
    for (const auto& [layer, v] : r.l_bal_per_layer) r.l_bal += v;
    r.total = r.ce + r.l_mtp + r.l_bal;
    {
        const StepProfile::Scope p("grad_norm");
        r.grad_norm = std::sqrt(params_.grad_sum_squares());
    }
    for (const auto& [layer, load] : loads) r.balance[layer].load = load;
    for (auto& [layer, b] : r.balance) b.maxvio = max_violation(b.load);

    if (!std::isfinite(r.total) || !std::isfinite(r.grad_norm)) {
        r.skipped = true;
        r.skip_reason = !std::isfinite(r.total) ? "the loss is not finite (" + std::to_string(r.total) + ")"
                                                : "a gradient is not finite (norm " + std::to_string(r.grad_norm) + ")";
        spdlog::warn("step {} skipped: {}; weights untouched", steps_ + 1, r.skip_reason);
        params_.zero_grads();
        r.step = steps_;
        return r;
    }
    r.clip_coef = adamw_.clip > 0.0f ? float(std::min(1.0, double(adamw_.clip) / (r.grad_norm + 1e-6))) : 1.0f;
    if (updates.adamw) {
        ++steps_;
        {
            const StepProfile::Scope p("adamw");
            apply_adamw(lr, r.clip_coef);
        }
        const StepProfile::Scope p("refresh_weights");
        params_.refresh_weights();
    }
    const StepProfile::Scope p("bias_update");
    update_biases(r, updates.routing_bias);
    r.step = steps_;
    return r;
}

void Trainer::apply_adamw(float lr, float clip_coef) {
    Backend& be = params_.backend();
    const AdamWStep s{lr, adamw_.beta1, adamw_.beta2, adamw_.eps, 0.0f, clip_coef, steps_};
    std::vector<AdamWParam> update;
    for (Parameter* p : params_.parameters()) {
        if (p->exp_avg.empty()) {
            p->exp_avg = be.alloc(p->rows(), p->cols());
            p->exp_avg_sq = be.alloc(p->rows(), p->cols());
        }
        update.push_back({&p->value, &p->grad, &p->exp_avg, &p->exp_avg_sq, p->decay ? adamw_.weight_decay : 0.0f});
    }
    be.adamw_update_many(update, s);
}

// b_i += γ · sign(mean load − load_i), in f32, once per optimiser step (DeepSeek-V3's
// auxiliary-loss-free balancing); the bias is never trained by gradients.
void Trainer::update_biases(StepResult& r, bool apply) {
    Backend& be = params_.backend();
    for (RoutingBiasRef& ref : graph_.routing_biases()) {
        LayerBalance& b = r.balance[ref.layer];
        b.bias_before = *ref.host;
        if (apply && objectives_.bias_gamma != 0.0f && !b.load.empty()) {
            const double mean =
                double(std::accumulate(b.load.begin(), b.load.end(), int64_t(0))) / double(b.load.size());
            for (size_t e = 0; e < ref.host->size(); ++e) {
                const double diff = mean - double(b.load[e]);
                const float sign = diff > 0.0 ? 1.0f : (diff < 0.0 ? -1.0f : 0.0f);
                (*ref.host)[e] += objectives_.bias_gamma * sign;
            }
            *ref.bias = be.upload(*ref.host, 1, int64_t(ref.host->size()));
        }
        b.bias_after = *ref.host;
    }
}

}  // namespace moe::train
