// One optimiser step of a training run: gradient accumulation over micro-batches (forward +
// backward through a TrainGraph), the step's losses, a NaN/Inf guard (the step is skipped and
// reported, the weights untouched), global-norm clipping, AdamW, the aux-loss-free routing-bias
// update, and the refresh of the graph's weight copies. docs/training.md has the formulas.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/train_graph.h"

namespace moe::train {

struct Objectives {
    float mtp_lambda = 0.0f;     // λ: L_MTP = λ/D Σ_k CE_k (0: MTP loss off)
    float balance_alpha = 0.0f;  // α of the sequence-wise balance loss (0: off)
    float bias_gamma = 0.0f;     // γ of the routing-bias update (0: the bias stays)
};

struct AdamWConfig {
    float lr = 1e-4f;
    float beta1 = 0.9f;
    float beta2 = 0.95f;
    float eps = 1e-8f;
    float weight_decay = 0.0f;
    float clip = 1.0f;  // global gradient norm; <= 0: no clipping
};

// One MoE layer's load in the step and its bias update.
struct LayerBalance {
    std::vector<int64_t> load;  // (token, expert) assignments per expert
    double maxvio = 0.0;        // max_i load_i / mean load − 1
    std::vector<float> bias_before, bias_after;  // empty for layers without a correction bias
    uint64_t selection_hash = 0;  // of every token's selected experts (see MicroBatchLosses::selection)
};

struct StepResult {
    int64_t step = 0;          // optimiser steps done after this one
    double ce = 0.0, l_mtp = 0.0, l_bal = 0.0, total = 0.0;
    std::vector<double> ce_mtp;                 // per depth
    std::map<int64_t, double> l_bal_per_layer;  // checkpoint layer index -> α-scaled loss
    int64_t ce_tokens = 0;
    std::vector<int64_t> mtp_tokens;
    double grad_norm = 0.0;     // before clipping
    float clip_coef = 1.0f;
    float lr = 0.0f;
    bool skipped = false;       // NaN/Inf in a loss or gradient: nothing was updated
    std::string skip_reason;
    std::map<int64_t, LayerBalance> balance;
    int64_t tokens = 0;         // rows processed
};

// MaxVio of one layer's loads.
double max_violation(const std::vector<int64_t>& load);

class Trainer {
public:
    Trainer(TrainGraph& graph, ParameterStore& params, Objectives objectives, AdamWConfig adamw);

    // What a step changes after its forward/backward (a training run: both; `moe-engine grad`
    // may compute the bias update without an AdamW step).
    struct Updates {
        bool adamw = true;         // clip + AdamW + refresh of the weights
        bool routing_bias = true;  // the aux-loss-free bias update
    };
    // Accumulates gradients over `micro_batches`, then applies `updates` with learning rate `lr`.
    // Gradients stay in the parameters (unclipped) until the next call.
    StepResult step(const std::vector<MicroBatch>& micro_batches, float lr, Updates updates);
    StepResult step(const std::vector<MicroBatch>& micro_batches, float lr) { return step(micro_batches, lr, Updates{}); }

    int64_t steps_done() const { return steps_; }
    void set_steps_done(int64_t n) { steps_ = n; }  // resume
    const Objectives& objectives() const { return objectives_; }
    const AdamWConfig& adamw() const { return adamw_; }

private:
    LossScales scales_for(const std::vector<MicroBatch>& micro_batches) const;
    void apply_adamw(float lr, float clip_coef);
    void update_biases(StepResult& r, bool apply);

    TrainGraph& graph_;
    ParameterStore& params_;
    Objectives objectives_;
    AdamWConfig adamw_;
    int64_t steps_ = 0;
};

}  // namespace moe::train
