#include "live_heatmap_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include "export_bar.h"
#include "heatmap_view_controls.h"
#include "heatmap_widget.h"

namespace moe::ui {

namespace {
constexpr int kTelemetryIntervalMs = 250;  // four snapshots a second: smooth enough, cheap for the engine
}

LiveHeatmapPanel::LiveHeatmapPanel(EngineClient* client, QWidget* parent) : QWidget(parent) {
    clock_.start();
    heatmap_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, this);
    heatmap_->setObjectName(QStringLiteral("routing.live.heatmap"));
    buildControls();
    window_timer_.setInterval(1000);
    connect(&window_timer_, &QTimer::timeout, this, &LiveHeatmapPanel::refresh);
    if (client) {
        connect(client, &EngineClient::telemetry, this, &LiveHeatmapPanel::onTelemetry);
        connect(client, &EngineClient::routedExperts, this, &LiveHeatmapPanel::onRoutedExperts);
        client->startTelemetry(kTelemetryIntervalMs);  // the client reconnects when the endpoint changes
    }
    refresh();
}

void LiveHeatmapPanel::buildControls() {
    mode_box_ = new QComboBox(this);
    mode_box_->addItem(tr("Sliding window"));
    mode_box_->addItem(tr("Cumulative (since load)"));
    window_box_ = new QSpinBox(this);
    window_box_->setRange(2, int(TelemetryHistory::kKeepSeconds));
    window_box_->setValue(window_seconds_);
    window_box_->setSuffix(tr(" s"));
    connect(mode_box_, &QComboBox::currentIndexChanged, this,
            [this](int index) { setMode(index == 0 ? Mode::Window : Mode::Cumulative); });
    connect(window_box_, &QSpinBox::valueChanged, this, &LiveHeatmapPanel::setWindowSeconds);

    auto* exports = new ExportBar(this);
    exports->addCsvTarget(tr("live expert load"), QStringLiteral("expert-load"),
                          [this](const QString& path, QString* error) { return exportCsv(path, error); });
    exports->addPngTarget(tr("live expert load"), QStringLiteral("expert-load"),
                          [this](const QString& path, QString* error) { return exportPng(path, error); });

    auto* controls = new QHBoxLayout;
    controls->addWidget(mode_box_);
    controls->addWidget(window_box_);
    add_heatmap_view_controls(controls, heatmap_, this);
    controls->addStretch(1);
    controls->addWidget(exports);
    summary_label_ = new QLabel(this);
    summary_label_->setObjectName(QStringLiteral("routing.live.summary"));
    summary_label_->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(heatmap_, 1);
    layout->addWidget(summary_label_);
}

void LiveHeatmapPanel::setMode(Mode mode) {
    mode_ = mode;
    mode_box_->setCurrentIndex(mode == Mode::Window ? 0 : 1);
    window_box_->setEnabled(mode == Mode::Window);
    refresh();
}

void LiveHeatmapPanel::setWindowSeconds(int seconds) {
    window_seconds_ = seconds;
    if (window_box_->value() != seconds) window_box_->setValue(seconds);
    refresh();
}

LiveHeatmapPanel::Source LiveHeatmapPanel::source() const {
    if (!history_.isEmpty()) return Source::Telemetry;
    if (!request_total_.isEmpty()) return Source::FinishedRequests;
    return Source::None;
}

QString LiveHeatmapPanel::summary() const { return summary_; }

void LiveHeatmapPanel::onTelemetry(const QJsonObject& snapshot) {
    const std::optional<TelemetryFrame> frame = TelemetryFrame::parse(snapshot);
    if (!frame) return;  // no model or a dense one: keep what is shown
    history_.add(*frame);
    refresh();
}

void LiveHeatmapPanel::onRoutedExperts(quint64, const RoutedExperts& routing) {
    LayerExpertCounts one;
    one.add(routing);
    if (!request_total_.isEmpty() && (one.layers != request_total_.layers || one.top_k != request_total_.top_k)) {
        request_total_ = LayerExpertCounts{};  // another model: its counts start afresh
        request_recent_.clear();
    }
    request_total_.addCounts(one);
    request_recent_.emplace_back(clock_.elapsed(), one);
    while (!request_recent_.empty() &&
           clock_.elapsed() - request_recent_.front().first > TelemetryHistory::kKeepSeconds * 1000)
        request_recent_.pop_front();
    if (history_.isEmpty()) refresh();  // with telemetry, the counters already include this request
}

void LiveHeatmapPanel::refresh() {
    switch (source()) {
    case Source::Telemetry: showTelemetry(); break;
    case Source::FinishedRequests: showRequestCounts(); break;
    case Source::None:
        summary_ = tr("Waiting for routing: the engine's telemetry stream, or the routed experts of a "
                      "finished request from servers without telemetry.");
        summary_label_->setText(summary_);
        break;
    }
    // The window slides over request counts even when nothing new arrives; telemetry ticks by itself.
    const bool slide = source() == Source::FinishedRequests && mode_ == Mode::Window;
    if (slide && !window_timer_.isActive()) window_timer_.start();
    if (!slide) window_timer_.stop();
}

void LiveHeatmapPanel::showTelemetry() {
    const TelemetryFrame& latest = history_.latest();
    const bool window = mode_ == Mode::Window;
    const TelemetryFrame* start = window ? &history_.windowStart(window_seconds_) : nullptr;
    const double span = window ? latest.time - start->time : 0;
    heatmap_->setData(latest.loadHeatmap(start, window ? tr("hits in the window") : tr("hits since load")));
    tokens_shown_ = latest.tokens() - (start ? start->tokens() : 0);
    const QString what = window ? tr("last %1 s").arg(span, 0, 'f', 1) : tr("since the model was loaded");
    summary_ = tr("Telemetry of %1 · %2: %3 tokens routed · top-%4 of %5 experts · %6 MoE layers of %7")
                   .arg(latest.model, what)
                   .arg(tokens_shown_)
                   .arg(latest.top_k)
                   .arg(latest.n_experts)
                   .arg(latest.moe_layers.size())
                   .arg(latest.layers);
    summary_label_->setText(summary_);
    emit updated();
}

void LiveHeatmapPanel::showRequestCounts() {
    LayerExpertCounts shown;
    if (mode_ == Mode::Window) {
        shown.ensureExperts(request_total_.n_experts);
        const qint64 cutoff = clock_.elapsed() - qint64(window_seconds_) * 1000;
        for (const auto& [when, counts] : request_recent_)
            if (when >= cutoff) shown.addCounts(counts);
        if (shown.isEmpty()) {  // keep the shape on screen, with zero hits
            shown = request_total_;
            shown.counts.fill(0);
            shown.layer_tokens.fill(0);
            shown.tokens = 0;
        }
    } else {
        shown = request_total_;
    }
    heatmap_->setData(shown.toHeatmap(mode_ == Mode::Window ? tr("hits in the window") : tr("hits (all requests)")));
    tokens_shown_ = shown.tokens;
    const QString what = mode_ == Mode::Window ? tr("requests of the last %1 s").arg(window_seconds_)
                                               : tr("all finished requests");
    summary_ = tr("No telemetry from this server: counting the routed experts of finished requests · %1: "
                  "%2 tokens · top-%3 · %4 MoE layers of %5")
                   .arg(what)
                   .arg(tokens_shown_)
                   .arg(request_total_.top_k)
                   .arg(request_total_.moe_layers.size())
                   .arg(request_total_.layers);
    summary_label_->setText(summary_);
    emit updated();
}

bool LiveHeatmapPanel::exportCsv(const QString& path, QString* error) { return heatmap_->saveCsv(path, error); }
bool LiveHeatmapPanel::exportPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }

}  // namespace moe::ui
