// The "MTP acceptance" dock's panel: how speculative decoding with the model's MTP modules goes —
// the share of drafted tokens the model keeps per draft position over the last replies (one line per
// position), per domain (requests that send "domain"), the mean accepted length, and decoding speed
// with and without speculation. Data: GET /workbench/v1/speculative?history=256, polled twice a second
// while the panel is visible and once after every reply. A model without MTP modules gets a sentence
// saying so and how to add one instead of empty charts.
#pragma once

#include <QJsonObject>
#include <QTimer>
#include <QWidget>

#include <optional>

#include "engine_client.h"
#include "speculative_summary.h"

class QLabel;

namespace moe::viz {
class BarChartWidget;
class TimeSeriesWidget;
}  // namespace moe::viz

namespace moe::ui {

class ExportBar;

class MtpPanel : public QWidget {
    Q_OBJECT
public:
    explicit MtpPanel(EngineClient* client, QWidget* parent = nullptr);

    static constexpr int kPollIntervalMs = 500;  // at most 2 requests a second while visible
    static constexpr int kHistory = 256;         // replies drawn (the engine keeps as many)

    const std::optional<SpeculativeSummary>& summary() const { return summary_; }
    QString statusText() const;
    QString meanLengthText() const;
    QString speedText() const;
    viz::TimeSeriesWidget* acceptanceChart() const { return acceptance_; }
    viz::BarChartWidget* domainChart() const { return domains_; }
    bool isPolling() const { return poll_.isActive(); }

public slots:
    void refresh();  // one GET now (or as soon as the one in flight answers)
    void onModels(const QJsonArray& models);
    void showSummary(const QJsonObject& summary);  // a /workbench/v1/speculative answer

signals:
    void updated();

protected:
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;

private:
    void onReply(const EngineClient::JsonReply& reply);
    void showNoMtp(const QString& model);
    void showUnavailable(const QString& why);
    void drawAcceptance(const SpeculativeSummary& s);
    void drawDomains(const SpeculativeSummary& s);
    void setChartsVisible(bool on);

    EngineClient* client_;
    QTimer poll_;
    bool in_flight_ = false;
    bool again_ = false;  // a refresh was asked while one was in flight
    bool has_model_ = false;
    bool no_reports_ = false;  // no MTP modules, or a server without the route: no polling
    QString model_id_;         // the loaded model's id ("" when unknown)
    std::optional<SpeculativeSummary> summary_;
    QLabel* status_;
    QLabel* mean_length_;
    QLabel* speed_;
    ExportBar* exports_;
    viz::TimeSeriesWidget* acceptance_;
    viz::BarChartWidget* domains_;
};

}  // namespace moe::ui
