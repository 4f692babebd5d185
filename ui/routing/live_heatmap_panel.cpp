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
        connect(client, &EngineClient::modelsChanged, this, &LiveHeatmapPanel::onModels);
        client->startTelemetry(kTelemetryIntervalMs);  // the client reconnects when the endpoint changes
    }
    refresh();
}

void LiveHeatmapPanel::buildControls() {
    mode_box_ = new QComboBox(this);
    mode_box_->setObjectName(QStringLiteral("routing.live.mode"));
    mode_box_->addItem(tr("Last seconds"));
    mode_box_->addItem(tr("Since the model was loaded"));
    mode_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    mode_box_->setMinimumContentsLength(12);
    mode_box_->setToolTip(tr("Count the tokens of the last few seconds (watch it change as the model writes), or "
                             "every token since the model was loaded"));
    window_box_ = new QSpinBox(this);
    window_box_->setObjectName(QStringLiteral("routing.live.seconds"));
    window_box_->setRange(2, int(TelemetryHistory::kKeepSeconds));
    window_box_->setValue(window_seconds_);
    window_box_->setSuffix(tr(" s"));
    window_box_->setToolTip(tr("How many seconds back to count"));
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

void LiveHeatmapPanel::onModels(const QJsonArray& models) {
    const QString id = models.isEmpty() ? QString() : models.first().toObject().value(QStringLiteral("id")).toString();
    if (id == model_) return;
    model_ = id;
    // Counts of finished requests belong to the model that ran them (telemetry restarts by itself).
    request_total_ = LayerExpertCounts{};
    request_recent_.clear();
    refresh();
}

void LiveHeatmapPanel::refresh() {
    switch (source()) {
    case Source::Telemetry: showTelemetry(); break;
    case Source::FinishedRequests: showRequestCounts(); break;
    case Source::None:
        tokens_shown_ = 0;
        summary_ = tr("Waiting for the engine to report which experts it uses…");
        summary_label_->setText(summary_);
        break;
    }
    showEmptyState();
    if (source() != Source::None) emit updated();
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
    heatmap_->setData(latest.loadHeatmap(start, window ? tr("tokens sent to the expert, last %1 s").arg(window_seconds_)
                                                       : tr("tokens sent to the expert since loading")));
    tokens_shown_ = latest.tokens() - (start ? start->tokens() : 0);
    const QString what = window ? tr("last %1 s").arg(span, 0, 'f', 1) : tr("since it was loaded");
    summary_ = tr("%1, %2: %L3 tokens · each token goes to %4 of %5 experts in each of %6 expert layers (of %7 layers)")
                   .arg(latest.model, what)
                   .arg(tokens_shown_)
                   .arg(latest.top_k)
                   .arg(latest.n_experts)
                   .arg(latest.moe_layers.size())
                   .arg(latest.layers);
    summary_label_->setText(summary_);
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
    heatmap_->setData(shown.toHeatmap(mode_ == Mode::Window ? tr("tokens sent to the expert, last %1 s").arg(window_seconds_)
                                                            : tr("tokens sent to the expert, all replies")));
    tokens_shown_ = shown.tokens;
    const QString what = mode_ == Mode::Window ? tr("replies of the last %1 s").arg(window_seconds_)
                                               : tr("all finished replies");
    summary_ = tr("No live statistics from this server: counting the experts of finished replies instead · %1: "
                  "%L2 tokens · each goes to %3 experts in each of %4 expert layers (of %5 layers)")
                   .arg(what)
                   .arg(tokens_shown_)
                   .arg(request_total_.top_k)
                   .arg(request_total_.moe_layers.size())
                   .arg(request_total_.layers);
    summary_label_->setText(summary_);
}

void LiveHeatmapPanel::showEmptyState() {
    QString message;
    if (source() == Source::None) {
        message = tr("Waiting for the engine to report which experts it uses. Once a model is loaded, send a "
                     "message in the chat and this fills while it answers.");
    } else if (tokens_shown_ == 0 && mode_ == Mode::Window) {
        message = tr("No tokens went through the model in the last %1 s, so no expert was used. Send a message in the "
                     "chat and watch this fill while the model answers, or choose “Since the model was loaded” to "
                     "see everything so far.")
                      .arg(window_seconds_);
    } else if (tokens_shown_ == 0) {
        message = tr("No tokens have gone through this model since it was loaded. Send a message in the chat and "
                     "watch this fill while the model answers.");
    }
    heatmap_->setEmptyMessage(message);
}

QString LiveHeatmapPanel::emptyMessage() const { return heatmap_->emptyMessage(); }

bool LiveHeatmapPanel::exportCsv(const QString& path, QString* error) { return heatmap_->saveCsv(path, error); }
bool LiveHeatmapPanel::exportPng(const QString& path, QString* error) { return heatmap_->savePng(path, 0, 0, error); }

}  // namespace moe::ui
