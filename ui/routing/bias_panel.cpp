#include "bias_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "bar_chart_widget.h"
#include "export_bar.h"
#include "heatmap_widget.h"

namespace moe::ui {

BiasPanel::BiasPanel(EngineClient* client, QWidget* parent) : QWidget(parent) {
    status_ = new QLabel(tr("Routing bias: not available from this server (yet). It comes from moe-engine's live "
                            "statistics, which other servers such as SGLang do not send."),
                         this);
    status_->setObjectName(QStringLiteral("routing.bias.status"));
    status_->setWordWrap(true);
    heatmap_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Diverging, this);
    heatmap_->setObjectName(QStringLiteral("routing.bias.heatmap"));
    bars_ = new viz::BarChartWidget(this);
    bars_->setObjectName(QStringLiteral("routing.bias.bars"));
    layer_box_ = new QSpinBox(this);
    layer_box_->setPrefix(tr("layer "));
    layer_box_->setToolTip(tr("The layer shown in the bar chart below"));
    connect(layer_box_, &QSpinBox::valueChanged, this, &BiasPanel::showLayer);
    style_box_ = new QComboBox(this);
    style_box_->addItems({tr("Bars"), tr("Line")});
    style_box_->setToolTip(tr("How the bar chart draws the layer's bias"));
    connect(style_box_, &QComboBox::currentIndexChanged, this, [this](int index) {
        bars_->setStyle(index == 0 ? viz::BarChartWidget::Style::Bars : viz::BarChartWidget::Style::Line);
    });
    auto* exports = new ExportBar(this);
    exports->addCsvTarget(tr("all layers (layer × expert)"), QStringLiteral("routing-bias"),
                          [this](const QString& p, QString* e) { return exportMatrixCsv(p, e); });
    exports->addCsvTarget(tr("this layer"), QStringLiteral("routing-bias-layer"),
                          [this](const QString& p, QString* e) { return exportLayerCsv(p, e); });
    exports->addPngTarget(tr("heatmap"), QStringLiteral("routing-bias"),
                          [this](const QString& p, QString* e) { return exportHeatmapPng(p, e); });
    exports->addPngTarget(tr("bar chart of this layer"), QStringLiteral("routing-bias-layer"),
                          [this](const QString& p, QString* e) { return exportBarsPng(p, e); });

    auto* plots = new QWidget(this);
    auto* plots_layout = new QVBoxLayout(plots);
    plots_layout->setContentsMargins(0, 0, 0, 0);
    auto* controls = new QHBoxLayout;
    controls->addWidget(layer_box_);
    controls->addWidget(style_box_);
    controls->addStretch(1);
    controls->addWidget(exports);
    plots_layout->addLayout(controls);
    auto* splitter = new QSplitter(Qt::Vertical, plots);
    splitter->addWidget(heatmap_);
    splitter->addWidget(bars_);
    plots_layout->addWidget(splitter, 1);

    stack_ = new QStackedWidget(this);
    auto* empty = new QWidget(stack_);
    stack_->addWidget(empty);
    stack_->addWidget(plots);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(status_);
    layout->addWidget(stack_, 1);
    if (client) connect(client, &EngineClient::telemetry, this, &BiasPanel::onTelemetry);
}

QString BiasPanel::status() const { return status_->text(); }
void BiasPanel::setLayer(int layer) { layer_box_->setValue(layer); }
int BiasPanel::layer() const { return layer_box_->value(); }

void BiasPanel::onTelemetry(const QJsonObject& snapshot) {
    std::optional<TelemetryFrame> frame = TelemetryFrame::parse(snapshot);
    if (!frame) {
        if (frame_) status_->setText(tr("No routing bias to show now: no model is loaded, or the model has no experts."));
        frame_.reset();
        stack_->setCurrentIndex(0);
        return;
    }
    // The bias only changes when the model does (inference never updates it): skip identical frames.
    const bool same = frame_ && frame_->sameShape(*frame) && frame_->has_bias == frame->has_bias &&
                      std::equal(frame_->bias.begin(), frame_->bias.end(), frame->bias.begin(), frame->bias.end(),
                                 [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); });
    if (same) return;
    frame_ = std::move(frame);
    if (!frame_->has_bias) {
        status_->setText(tr("The model %1 has no routing bias (e_score_correction_bias): DeepSeek-V2-style "
                            "routers do not use one.").arg(frame_->model));
        stack_->setCurrentIndex(0);
        emit updated();
        return;
    }
    status_->setText(tr("Routing bias of %1, per layer and expert: a correction learned in training to spread the "
                        "tokens evenly over the experts. It is added to an expert's score only while the %2 experts "
                        "of a token are chosen, not to how much each one counts. Red: the expert is favoured; blue: "
                        "held back.")
                         .arg(frame_->model)
                         .arg(frame_->top_k));
    status_->setToolTip(tr("DeepSeek-V3's e_score_correction_bias (auxiliary-loss-free load balancing)"));
    stack_->setCurrentIndex(1);
    heatmap_->setData(frame_->biasHeatmap());
    {
        const QSignalBlocker block(layer_box_);
        layer_box_->setRange(0, frame_->layers - 1);
        if (!frame_->moe_layers.contains(layer_box_->value())) layer_box_->setValue(frame_->moe_layers.first());
    }
    showLayer();
    emit updated();
}

void BiasPanel::showLayer() {
    if (!frame_ || !frame_->has_bias) return;
    const int l = layer();
    QVector<double> values(frame_->n_experts);
    for (int e = 0; e < frame_->n_experts; ++e) values[e] = frame_->bias[l * frame_->n_experts + e];
    bars_->setValues(values, tr("expert"), frame_->moe_layers.contains(l) ? tr("routing bias, layer %1").arg(l)
                                                                          : tr("layer %1 has no experts: no bias").arg(l));
}

bool BiasPanel::exportMatrixCsv(const QString& path, QString* error) { return heatmap_->saveCsv(path, error); }
bool BiasPanel::exportLayerCsv(const QString& path, QString* error) const { return bars_->saveCsv(path, error); }
bool BiasPanel::exportHeatmapPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }
bool BiasPanel::exportBarsPng(const QString& path, QString* error) { return bars_->savePng(path, 0, 0, error); }

}  // namespace moe::ui
