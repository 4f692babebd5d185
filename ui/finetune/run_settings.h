// What a fine-tune run is asked to do, as the panel's form edits it: the run description the engine
// takes (POST /workbench/v1/train and /train/plan; engine/train/run_config.h), with defaults that
// suit a first run. toJson() writes only what the form sets; the engine fills the rest with its own
// defaults (Adam's betas and epsilon, the cosine floor) and refuses anything it does not know.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace moe::ui::finetune {

enum class Method { Lora, Full, MtpHead };
QString methodKey(Method m);          // "lora" | "full" | "mtp-head" (the engine's names)
Method methodFromKey(const QString& key);  // unknown → Lora
// The learning rate a method starts well with (LoRA trains few, fresh weights: a larger one).
double defaultLearningRate(Method m);

struct RunSettings {
    QString model;           // checkpoint folder
    Method method = Method::Lora;
    QStringList data_paths;  // files or folders, "PATH" or "PATH=domain"

    int seq_len = 512;       // tokens per packed sequence
    int batch = 4;           // sequences per step (per accumulation round)
    int accumulation = 1;
    double holdout = 0.05;   // share of each domain kept for evaluation

    int lora_rank = 16;
    double lora_alpha = 32;
    double lora_dropout = 0.05;
    QStringList lora_targets{QStringLiteral("attention"), QStringLiteral("shared_experts"), QStringLiteral("experts")};

    int steps = 200;
    double lr = 2e-4;
    int warmup = 20;
    bool cosine = true;      // else constant after warm-up

    double weight_decay = 0.0;
    double clip = 1.0;       // global gradient norm; 0 = none

    double mtp_lambda = 0.0;     // weight of the multi-token-prediction loss (0: off)
    double balance_alpha = 1e-4; // weight of the sequence-wise balance loss (DeepSeek-V3's α)
    double bias_gamma = 1e-3;    // speed of the routing-bias update (DeepSeek-V3's γ; 0: bias fixed)

    int eval_every = 50;      // steps between evaluations (0: none)
    int checkpoint_every = 50;  // steps between checkpoints (0: only at the end)
    int keep_checkpoints = 3;
    qint64 seed = 0;

    // The run description (model, method, data, lora, schedule, optimizer, objectives, intervals, seed).
    QJsonObject toJson() const;
    // From a run's description as the engine stores it (GET /workbench/v1/train/{id} "config"):
    // fields it lacks keep their defaults.
    static RunSettings fromJson(const QJsonObject& config);
    // "" when the engine would take it, else the first problem in plain words, naming the setting.
    QString problem() const;
};

}  // namespace moe::ui::finetune
