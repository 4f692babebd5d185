#include "telemetry_frame.h"

#include <QJsonArray>

#include <algorithm>
#include <limits>

namespace moe::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool fail(QString* why, const QString& message) {
    if (why) *why = message;
    return false;
}

}  // namespace

std::optional<TelemetryFrame> TelemetryFrame::parse(const QJsonObject& snapshot, QString* why) {
    const QJsonObject routing = snapshot.value(QStringLiteral("routing")).toObject();
    if (routing.isEmpty()) {
        fail(why, QStringLiteral("the snapshot has no routing (no model loaded, or a dense model)"));
        return std::nullopt;
    }
    TelemetryFrame frame;
    frame.time = snapshot.value(QStringLiteral("time")).toDouble();
    frame.model = snapshot.value(QStringLiteral("model")).toString();
    frame.top_k = routing.value(QStringLiteral("top_k")).toInt();
    frame.n_experts = routing.value(QStringLiteral("n_experts")).toInt();
    if (frame.top_k <= 0 || frame.n_experts <= 0) {
        fail(why, QStringLiteral("routing.top_k or routing.n_experts is missing or not positive"));
        return std::nullopt;
    }
    QVector<QJsonObject> layers;
    for (const QJsonValue& value : routing.value(QStringLiteral("layers")).toArray()) {
        const QJsonObject layer = value.toObject();
        if (layer.value(QStringLiteral("mtp")).toBool()) continue;  // the MTP head is not a decoder layer
        const int id = layer.value(QStringLiteral("layer")).toInt(-1);
        if (id < 0 || layer.value(QStringLiteral("expert_load")).toArray().size() != frame.n_experts) {
            fail(why, QStringLiteral("routing.layers holds an entry without a layer id or with %1 loads for %2 experts")
                          .arg(layer.value(QStringLiteral("expert_load")).toArray().size())
                          .arg(frame.n_experts));
            return std::nullopt;
        }
        frame.moe_layers << id;
        frame.layers = std::max(frame.layers, id + 1);
        layers << layer;
    }
    std::sort(frame.moe_layers.begin(), frame.moe_layers.end());
    frame.expert_load = QVector<qint64>(frame.layers * frame.n_experts, 0);
    frame.routed_tokens = QVector<qint64>(frame.layers, 0);
    frame.bias = QVector<double>(frame.layers * frame.n_experts, kNaN);
    for (const QJsonObject& layer : layers) {
        const int id = layer.value(QStringLiteral("layer")).toInt();
        const QJsonArray load = layer.value(QStringLiteral("expert_load")).toArray();
        const QJsonArray bias = layer.value(QStringLiteral("bias")).toArray();
        frame.routed_tokens[id] = qint64(layer.value(QStringLiteral("routed_tokens")).toDouble());
        for (int e = 0; e < frame.n_experts; ++e) {
            frame.expert_load[id * frame.n_experts + e] = qint64(load[e].toDouble());
            if (bias.size() == frame.n_experts) frame.bias[id * frame.n_experts + e] = bias[e].toDouble();
        }
        frame.has_bias = frame.has_bias || bias.size() == frame.n_experts;
    }
    return frame;
}

qint64 TelemetryFrame::tokens() const {
    qint64 most = 0;
    for (qint64 t : routed_tokens) most = std::max(most, t);
    return most;
}

viz::HeatmapData TelemetryFrame::loadHeatmap(const TelemetryFrame* older, const QString& value_title) const {
    viz::HeatmapData data = viz::HeatmapData::filled(layers, n_experts, kNaN);
    data.row_title = QStringLiteral("layer");
    data.col_title = QStringLiteral("expert");
    data.value_title = value_title;
    for (int l = 0; l < layers; ++l) data.row_labels << QString::number(l);
    for (int l : moe_layers)
        for (int e = 0; e < n_experts; ++e) data.at(l, e) = double(load(l, e) - (older ? older->load(l, e) : 0));
    return data;
}

viz::HeatmapData TelemetryFrame::biasHeatmap() const {
    viz::HeatmapData data = viz::HeatmapData::filled(layers, n_experts);
    data.values = bias;
    data.row_title = QStringLiteral("layer");
    data.col_title = QStringLiteral("expert");
    data.value_title = QStringLiteral("routing bias (added to the expert's score)");
    for (int l = 0; l < layers; ++l) data.row_labels << QString::number(l);
    return data;
}

bool TelemetryHistory::add(const TelemetryFrame& frame) {
    bool restarted = false;
    if (!frames_.empty()) {
        const TelemetryFrame& last = frames_.back();
        restarted = !last.sameShape(frame) || frame.tokens() < last.tokens() || frame.time < last.time;
        if (restarted) frames_.clear();
    }
    frames_.push_back(frame);
    while (frames_.size() > 2 && frames_.back().time - frames_[1].time > kKeepSeconds) frames_.pop_front();
    return restarted;
}

const TelemetryFrame& TelemetryHistory::windowStart(double seconds) const {
    const double cutoff = frames_.back().time - seconds;
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
        if (it->time <= cutoff) return *it;
    return frames_.front();
}

}  // namespace moe::ui
