#include "train_history.h"

#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <limits>

namespace moe::ui::finetune {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QVector<double> numbers(const QJsonValue& v) {
    QVector<double> out;
    for (const QJsonValue& e : v.toArray()) out << e.toDouble(kNaN);
    return out;
}

QMap<int, QVector<double>> perLayer(const QJsonObject& o) {
    QMap<int, QVector<double>> out;
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool ok = false;
        const int layer = it.key().toInt(&ok);
        if (ok) out.insert(layer, numbers(it.value()));
    }
    return out;
}

}  // namespace

void TrainHistory::clear() { *this = TrainHistory(); }

int TrainHistory::add(const QJsonArray& events) {
    int taken = 0;
    for (const QJsonValue& v : events) {
        const QJsonObject e = v.toObject();
        const QString kind = e.value("event").toString();
        const int step = e.value("step").toInt(-1);
        if (kind == QLatin1String("step")) {
            if (e.value("skipped").toBool()) {
                skipped_.insert(step);  // nothing was applied: no point on any curve
                continue;
            }
            if (step <= last_step_) continue;
            addStep(e);
            ++taken;
        } else if (kind == QLatin1String("eval")) {
            if (step <= last_eval_step_) continue;
            addEval(e);
            ++taken;
        }
    }
    return taken;
}

void TrainHistory::addStep(const QJsonObject& e) {
    StepRecord r;
    r.step = e.value("step").toInt();
    r.ce = e.value("ce").toDouble(kNaN);
    r.l_mtp = e.value("l_mtp").toDouble(kNaN);
    r.l_bal = e.value("l_bal").toDouble(kNaN);
    r.total = e.value("total").toDouble(kNaN);
    r.lr = e.value("lr").toDouble(kNaN);
    r.grad_norm = e.value("grad_norm").toDouble(kNaN);
    r.tokens_per_s = e.value("tokens_per_s").toDouble(kNaN);
    r.eta_s = e.value("eta_s").toDouble(-1);
    const int index = int(steps_.size());
    steps_ << r;
    last_step_ = r.step;
    const QJsonObject layers = e.value("layers").toObject();
    for (auto it = layers.begin(); it != layers.end(); ++it) {
        const int layer = it.key().toInt();
        const QJsonObject l = it.value().toObject();
        QVector<double>& vio = maxvio_[layer];
        vio.resize(index, kNaN);  // a layer that appears late has no value before
        vio << l.value("maxvio").toDouble(kNaN);
        const QVector<double> bias = numbers(l.value("bias"));
        if (bias.isEmpty()) continue;  // a layer without a correction bias (DeepSeek-V2)
        experts_ = std::max(experts_, int(bias.size()));
        QVector<float>& rows = bias_[layer];
        rows.resize(index * experts_, float(kNaN));
        for (int x = 0; x < experts_; ++x) rows << float(bias.value(x, kNaN));
    }
}

void TrainHistory::addEval(const QJsonObject& e) {
    EvalRecord r;
    r.step = e.value("step").toInt();
    const QJsonObject domains = e.value("domains").toObject();
    for (auto it = domains.begin(); it != domains.end(); ++it) {
        const QJsonObject d = it.value().toObject();
        DomainEval de;
        de.loss = d.value("loss").toDouble(kNaN);
        de.ppl = d.value("ppl").toDouble(kNaN);
        de.tokens = d.value("tokens").toInteger();
        de.load = perLayer(d.value("load").toObject());
        for (const QVector<double>& l : de.load) experts_ = std::max(experts_, int(l.size()));
        r.domains.insert(it.key(), de);
        if (!domains_.contains(it.key())) domains_ << it.key();
    }
    r.bias = perLayer(e.value("routing_bias").toObject());
    evals_ << r;
    last_eval_step_ = r.step;
}

viz::HeatmapData TrainHistory::maxVio() const {
    const QList<int> layers = maxvio_.keys();
    viz::HeatmapData d = viz::HeatmapData::filled(int(layers.size()), int(steps_.size()), kNaN);
    d.col_origin = steps_.isEmpty() ? 1 : steps_.first().step;
    d.row_title = QStringLiteral("layer");
    d.col_title = QStringLiteral("step");
    d.value_title = QStringLiteral("MaxVio (busiest expert ÷ average − 1)");
    for (int r = 0; r < layers.size(); ++r) {
        d.row_labels << QString::number(layers[r]);
        const QVector<double>& vio = maxvio_[layers[r]];
        for (int c = 0; c < vio.size() && c < d.cols; ++c) d.at(r, c) = vio[c];
    }
    return d;
}

QVector<double> TrainHistory::biasReference(int layer, QString* label) const {
    if (!evals_.isEmpty() && evals_.first().step == 0 && evals_.first().bias.contains(layer)) {
        if (label) *label = QStringLiteral("step 0");
        return evals_.first().bias.value(layer);
    }
    if (!bias_.contains(layer) || steps_.isEmpty()) {
        if (label) label->clear();
        return {};
    }
    if (label) *label = QStringLiteral("after step %1").arg(steps_.first().step);
    const QVector<float>& rows = bias_[layer];
    QVector<double> out(experts_);
    for (int x = 0; x < experts_; ++x) out[x] = rows.value(x, float(kNaN));
    return out;
}

QVector<double> TrainHistory::biasNow(int layer, int* step) const {
    if (!bias_.contains(layer) || steps_.isEmpty()) return {};
    const QVector<float>& rows = bias_[layer];
    const int last = int(rows.size() / std::max(experts_, 1)) - 1;
    if (last < 0) return {};
    if (step) *step = steps_[last].step;
    QVector<double> out(experts_);
    for (int x = 0; x < experts_; ++x) out[x] = rows[last * experts_ + x];
    return out;
}

viz::HeatmapData TrainHistory::biasDrift(int layer) const {
    const QVector<double> reference = biasReference(layer);
    const QVector<float> rows = bias_.value(layer);
    const int n = experts_ > 0 ? int(rows.size() / experts_) : 0;
    viz::HeatmapData d = viz::HeatmapData::filled(reference.isEmpty() ? 0 : n, experts_, kNaN);
    d.row_title = QStringLiteral("step");
    d.col_title = QStringLiteral("expert");
    d.value_title = QStringLiteral("routing bias now − at the start");
    for (int r = 0; r < d.rows; ++r) {
        d.row_labels << QString::number(steps_[r].step);
        for (int x = 0; x < experts_; ++x) d.at(r, x) = double(rows[r * experts_ + x]) - reference.value(x, kNaN);
    }
    return d;
}

viz::HeatmapData TrainHistory::domainLoad(const QString& domain, int index) const {
    const int i = index < 0 ? int(evals_.size()) + index : index;
    if (i < 0 || i >= evals_.size() || !evals_[i].domains.contains(domain)) return {};
    const QMap<int, QVector<double>>& load = evals_[i].domains.value(domain).load;
    const int layers = load.isEmpty() ? 0 : load.lastKey() + 1;
    viz::HeatmapData d = viz::HeatmapData::filled(layers, experts_, kNaN);  // NaN: a layer without experts
    d.row_title = QStringLiteral("layer");
    d.col_title = QStringLiteral("expert");
    d.value_title = QStringLiteral("held-out tokens sent to the expert");
    for (auto it = load.begin(); it != load.end(); ++it)
        for (int x = 0; x < it.value().size() && x < experts_; ++x) d.at(it.key(), x) = it.value()[x];
    return d;
}

}  // namespace moe::ui::finetune
