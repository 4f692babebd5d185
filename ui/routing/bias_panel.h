// The routing bias (DeepSeek-V3's aux-loss-free e_score_correction_bias: added to the router's
// scores for choosing experts, not to their weights) per layer and expert, from the telemetry
// stream: a layer × expert diverging heatmap and a bar chart of one layer.
#pragma once

#include <QJsonObject>
#include <QWidget>

#include <optional>

#include "engine_client.h"
#include "telemetry_frame.h"

class QComboBox;
class QLabel;
class QSpinBox;
class QStackedWidget;

namespace moe::viz {
class BarChartWidget;
class HeatmapWidget;
}  // namespace moe::viz

namespace moe::ui {

class BiasPanel : public QWidget {
    Q_OBJECT
public:
    explicit BiasPanel(EngineClient* client, QWidget* parent = nullptr);

    bool hasBias() const { return frame_ && frame_->has_bias; }
    QString status() const;
    void setLayer(int layer);
    int layer() const;
    viz::HeatmapWidget* heatmap() const { return heatmap_; }
    viz::BarChartWidget* bars() const { return bars_; }

    bool exportMatrixCsv(const QString& path, QString* error);
    bool exportLayerCsv(const QString& path, QString* error) const;
    bool exportHeatmapPng(const QString& path, QString* error);
    bool exportBarsPng(const QString& path, QString* error);

signals:
    void updated();

public slots:
    void onTelemetry(const QJsonObject& snapshot);

private:
    void showLayer();

    std::optional<TelemetryFrame> frame_;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QSpinBox* layer_box_ = nullptr;
    QComboBox* style_box_ = nullptr;
    viz::HeatmapWidget* heatmap_ = nullptr;
    viz::BarChartWidget* bars_ = nullptr;
};

}  // namespace moe::ui
