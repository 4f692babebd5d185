// One /workbench/v1/telemetry snapshot's routing part (docs/api.md), as plain arrays, plus the short
// history the live view needs to show "load over the last N seconds" from cumulative counters.
#pragma once

#include <QJsonObject>
#include <QString>
#include <QVector>

#include <deque>
#include <optional>

#include "heatmap_data.h"

namespace moe::ui {

struct TelemetryFrame {
    double time = 0;        // snapshot time, seconds (the server's clock)
    QString model;
    int top_k = 0;
    int n_experts = 0;
    int layers = 0;         // rows: highest MoE layer id + 1 (layers below without routing are dense)
    QVector<int> moe_layers;            // layer ids with routing (MTP layers left out)
    QVector<qint64> expert_load;        // [layers, n_experts] cumulative hits; 0 for dense rows
    QVector<qint64> routed_tokens;      // [layers] cumulative tokens
    QVector<double> bias;               // [layers, n_experts] e_score_correction_bias; NaN where absent
    bool has_bias = false;              // some layer sent a bias

    // nullopt when the snapshot has no routing (no model, a dense model) or is malformed; *why says which.
    static std::optional<TelemetryFrame> parse(const QJsonObject& snapshot, QString* why = nullptr);

    qint64 load(int layer, int expert) const { return expert_load[layer * n_experts + expert]; }
    bool sameShape(const TelemetryFrame& other) const {
        return model == other.model && layers == other.layers && n_experts == other.n_experts &&
               moe_layers == other.moe_layers;
    }
    // Most tokens routed through any layer (every MoE layer sees every token).
    qint64 tokens() const;

    // The heatmap of this frame's load, or of (this − older) when older is given. NaN for dense rows.
    viz::HeatmapData loadHeatmap(const TelemetryFrame* older, const QString& value_title) const;
    viz::HeatmapData biasHeatmap() const;
};

// Cumulative frames of the last few minutes, so a window "since N seconds ago" can be subtracted.
class TelemetryHistory {
public:
    static constexpr double kKeepSeconds = 300;

    // Adds a frame; a frame of another model or with smaller counters (the engine restarted or
    // reloaded) starts the history again. Returns true when it did so.
    bool add(const TelemetryFrame& frame);
    bool isEmpty() const { return frames_.empty(); }
    const TelemetryFrame& latest() const { return frames_.back(); }
    // The newest frame at least `seconds` older than the latest one, else the oldest kept.
    const TelemetryFrame& windowStart(double seconds) const;
    void clear() { frames_.clear(); }

private:
    std::deque<TelemetryFrame> frames_;
};

}  // namespace moe::ui
