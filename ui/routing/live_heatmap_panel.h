// The live layer × expert load heatmap. Source: the engine's telemetry stream (cumulative
// expert_load per MoE layer; shown as the load over a sliding window — the counters now minus those
// N seconds ago — or the cumulative total). A server without telemetry (SGLang) still fills it: the
// routed experts of every finished request are counted instead. When nothing was routed in the
// shown span the heatmap says so, and what to do, instead of drawing one flat colour (emptyMessage()).
// Counts of finished requests start afresh when another model is loaded.
#pragma once

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTimer>
#include <QWidget>

#include <deque>

#include "engine_client.h"
#include "layer_expert_counts.h"
#include "telemetry_frame.h"

class QComboBox;
class QLabel;
class QSpinBox;

namespace moe::viz {
class HeatmapWidget;
}

namespace moe::ui {

class LiveHeatmapPanel : public QWidget {
    Q_OBJECT
public:
    enum class Mode { Window, Cumulative };
    enum class Source { None, Telemetry, FinishedRequests };

    explicit LiveHeatmapPanel(EngineClient* client, QWidget* parent = nullptr);

    void setMode(Mode mode);
    Mode mode() const { return mode_; }
    void setWindowSeconds(int seconds);
    Source source() const;
    QString summary() const;  // what the label under the plot says: source, tokens, top_k, layers
    qint64 tokensShown() const { return tokens_shown_; }
    QString emptyMessage() const;  // what the heatmap says instead of a grid ("" when it has data)
    viz::HeatmapWidget* heatmap() const { return heatmap_; }

    bool exportCsv(const QString& path, QString* error);
    bool exportPng(const QString& path, QString* error);

signals:
    void updated();  // the heatmap got new data

public slots:
    void onTelemetry(const QJsonObject& snapshot);
    void onRoutedExperts(quint64 request_id, const moe::ui::RoutedExperts& routing);
    void onModels(const QJsonArray& models);  // another model: counts of finished replies start afresh

private:
    void buildControls();
    void refresh();
    void showTelemetry();
    void showRequestCounts();
    void showEmptyState();

    Mode mode_ = Mode::Window;
    int window_seconds_ = 10;
    TelemetryHistory history_;
    LayerExpertCounts request_total_;
    std::deque<std::pair<qint64, LayerExpertCounts>> request_recent_;  // (ms on clock_, one request)
    QElapsedTimer clock_;
    QTimer window_timer_;  // slides the window over requests when nothing new arrives
    qint64 tokens_shown_ = 0;
    QString summary_;
    QString model_;  // the loaded model's id (from /v1/models)

    viz::HeatmapWidget* heatmap_ = nullptr;
    QComboBox* mode_box_ = nullptr;
    QSpinBox* window_box_ = nullptr;
    QLabel* summary_label_ = nullptr;
};

}  // namespace moe::ui
