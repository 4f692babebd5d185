// A run's curves, as plain data: the step and eval events of GET /workbench/v1/train/{id}/history
// (engine/train/training_run.h), taken in the order the engine wrote them, and the series and grids
// the Fine-tune panel draws from them. No widgets and no network: the panel feeds it, tests too.
//
//   step: {step, steps, ce, ce_mtp[], l_mtp, l_bal, total, lr, grad_norm, tokens_per_s, eta_s,
//          skipped, layers: {"<layer>": {maxvio, load[E], bias[E]}}}
//   eval: {step, domains: {"<name>": {loss, ppl, tokens, load: {"<layer>": [E]}}}, routing_bias: {"<layer>": [E]}}
//
// The eval at step 0 (before the first step) is the model the run started from: the "before" of the
// per-domain expert load and the reference of the routing-bias drift.
#pragma once

#include <QJsonArray>
#include <QList>
#include <QMap>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QVector>

#include "heatmap_data.h"

namespace moe::ui::finetune {

struct StepRecord {
    int step = 0;
    double ce = 0, l_mtp = 0, l_bal = 0, total = 0;
    double lr = 0, grad_norm = 0, tokens_per_s = 0, eta_s = -1;
};

struct DomainEval {
    double loss = 0;
    double ppl = 0;
    qint64 tokens = 0;
    QMap<int, QVector<double>> load;  // layer -> tokens sent to each expert
};

struct EvalRecord {
    int step = 0;
    QMap<QString, DomainEval> domains;
    QMap<int, QVector<double>> bias;  // layer -> routing bias the loads were measured with
};

class TrainHistory {
public:
    void clear();
    // Takes the step and eval events it does not have yet (a step or eval at or before the last one
    // of its kind is a repeat from an overlapping poll; a skipped step is noted, not drawn).
    // Returns how many were new.
    int add(const QJsonArray& events);
    // `since` for the next history poll. One step back: an eval is written after its step's event,
    // so the poll that saw step k must not keep the next one from getting eval k.
    int nextSince() const { return last_step_ > 0 ? last_step_ - 1 : -1; }

    const QVector<StepRecord>& steps() const { return steps_; }
    int lastStep() const { return last_step_; }
    int skippedSteps() const { return int(skipped_.size()); }  // steps at which a step was skipped
    const QVector<EvalRecord>& evals() const { return evals_; }
    QStringList domains() const { return domains_; }  // in the order the evals named them
    QList<int> moeLayers() const { return bias_.isEmpty() ? maxvio_.keys() : bias_.keys(); }
    int experts() const { return experts_; }

    // MaxVio (max load / mean load − 1) of every MoE layer at every step: rows layers, columns steps.
    viz::HeatmapData maxVio() const;
    // How far `layer`'s routing bias moved from its reference at every step: rows steps, columns experts.
    viz::HeatmapData biasDrift(int layer) const;
    // The routing bias before training (the step-0 eval's); without that eval, after the first
    // step. *label says which ("step 0" / "after step 1"); empty when there is no bias at all.
    QVector<double> biasReference(int layer, QString* label = nullptr) const;
    QVector<double> biasNow(int layer, int* step = nullptr) const;
    // Tokens of `domain` sent to each expert at evaluation `index` (negative: from the end):
    // rows are layers 0..L-1 (layers without experts are NaN), columns experts.
    viz::HeatmapData domainLoad(const QString& domain, int index) const;

private:
    void addStep(const QJsonObject& e);
    void addEval(const QJsonObject& e);

    QVector<StepRecord> steps_;
    QVector<EvalRecord> evals_;
    QStringList domains_;
    QMap<int, QVector<double>> maxvio_;  // layer -> per step (index as steps_)
    QMap<int, QVector<float>> bias_;     // layer -> [steps_, experts] row-major
    int experts_ = 0;
    int last_step_ = 0;
    int last_eval_step_ = -1;
    QSet<int> skipped_;
};

}  // namespace moe::ui::finetune
