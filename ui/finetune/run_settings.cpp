#include "run_settings.h"

#include <QCoreApplication>
#include <QJsonArray>

namespace moe::ui::finetune {

namespace {

QString tr(const char* text) { return QCoreApplication::translate("RunSettings", text); }

QJsonArray toArray(const QStringList& list) {
    QJsonArray a;
    for (const QString& s : list) a.append(s);
    return a;
}

QStringList toStrings(const QJsonValue& v) {
    QStringList out;
    for (const QJsonValue& e : v.toArray()) out << e.toString();
    return out;
}

// Reads `key` of `o` into `out` when present (the engine's stored config has every key; a partial
// one keeps the defaults).
void read(const QJsonObject& o, const char* key, int& out) {
    if (o.contains(QLatin1String(key))) out = o.value(QLatin1String(key)).toInt(out);
}
void read(const QJsonObject& o, const char* key, double& out) {
    if (o.contains(QLatin1String(key))) out = o.value(QLatin1String(key)).toDouble(out);
}

}  // namespace

QString methodKey(Method m) {
    switch (m) {
        case Method::Lora: return QStringLiteral("lora");
        case Method::Full: return QStringLiteral("full");
        case Method::MtpHead: return QStringLiteral("mtp-head");
    }
    return QStringLiteral("lora");
}

Method methodFromKey(const QString& key) {
    if (key == QLatin1String("full")) return Method::Full;
    if (key == QLatin1String("mtp-head")) return Method::MtpHead;
    return Method::Lora;
}

double defaultLearningRate(Method m) {
    switch (m) {
        case Method::Lora: return 2e-4;
        case Method::Full: return 1e-5;
        case Method::MtpHead: return 1e-4;
    }
    return 2e-4;
}

QJsonObject RunSettings::toJson() const {
    QJsonObject j{
        {"model", model},
        {"method", methodKey(method)},
        {"seed", seed},
        {"data", QJsonObject{{"paths", toArray(data_paths)},
                             {"seq_len", seq_len},
                             {"batch", batch},
                             {"accumulation", accumulation},
                             {"holdout", holdout}}},
        {"schedule", QJsonObject{{"steps", steps},
                                 {"lr", lr},
                                 {"warmup", warmup},
                                 {"decay", cosine ? QStringLiteral("cosine") : QStringLiteral("constant")}}},
        {"optimizer", QJsonObject{{"weight_decay", weight_decay}, {"clip", clip}}},
        {"objectives", QJsonObject{{"mtp_lambda", mtp_lambda}, {"balance_alpha", balance_alpha}, {"bias_gamma", bias_gamma}}},
        {"intervals", QJsonObject{{"eval", eval_every}, {"checkpoint", checkpoint_every}, {"keep_checkpoints", keep_checkpoints}}},
    };
    if (method == Method::Lora)
        j.insert("lora", QJsonObject{{"rank", lora_rank},
                                     {"alpha", lora_alpha},
                                     {"dropout", lora_dropout},
                                     {"targets", toArray(lora_targets)}});
    return j;
}

RunSettings RunSettings::fromJson(const QJsonObject& c) {
    RunSettings s;
    s.model = c.value("model").toString();
    s.method = methodFromKey(c.value("method").toString());
    s.seed = c.value("seed").toInteger(0);
    const QJsonObject data = c.value("data").toObject();
    s.data_paths = toStrings(data.value("paths"));
    read(data, "seq_len", s.seq_len);
    read(data, "batch", s.batch);
    read(data, "accumulation", s.accumulation);
    read(data, "holdout", s.holdout);
    const QJsonObject lora = c.value("lora").toObject();
    read(lora, "rank", s.lora_rank);
    read(lora, "alpha", s.lora_alpha);
    read(lora, "dropout", s.lora_dropout);
    if (lora.contains("targets")) s.lora_targets = toStrings(lora.value("targets"));
    const QJsonObject schedule = c.value("schedule").toObject();
    read(schedule, "steps", s.steps);
    read(schedule, "lr", s.lr);
    read(schedule, "warmup", s.warmup);
    if (schedule.contains("decay")) s.cosine = schedule.value("decay").toString() != QLatin1String("constant");
    const QJsonObject opt = c.value("optimizer").toObject();
    read(opt, "weight_decay", s.weight_decay);
    read(opt, "clip", s.clip);
    const QJsonObject obj = c.value("objectives").toObject();
    read(obj, "mtp_lambda", s.mtp_lambda);
    read(obj, "balance_alpha", s.balance_alpha);
    read(obj, "bias_gamma", s.bias_gamma);
    const QJsonObject iv = c.value("intervals").toObject();
    read(iv, "eval", s.eval_every);
    read(iv, "checkpoint", s.checkpoint_every);
    read(iv, "keep_checkpoints", s.keep_checkpoints);
    return s;
}

QString RunSettings::problem() const {
    if (model.trimmed().isEmpty()) return tr("Choose the model to fine-tune (its checkpoint folder).");
    if (data_paths.isEmpty()) return tr("Add the data to train on: text or .jsonl files, or folders of them.");
    if (steps <= 0) return tr("Steps must be at least 1.");
    if (warmup > steps) return tr("The warm-up (%1 steps) is longer than the run (%2 steps).").arg(warmup).arg(steps);
    if (!(lr > 0)) return tr("The learning rate must be above 0.");
    if (seq_len < 2) return tr("The sequence length must be at least 2 tokens.");
    if (method == Method::Lora && lora_rank <= 0) return tr("LoRA needs a rank of at least 1.");
    if (method == Method::Lora && lora_targets.isEmpty()) return tr("Pick at least one part of the model for LoRA adapters.");
    if (method == Method::MtpHead && !(mtp_lambda > 0))
        return tr("Training the MTP head needs an MTP loss weight above 0 (DeepSeek-V3 used 0.3).");
    return {};
}

}  // namespace moe::ui::finetune
