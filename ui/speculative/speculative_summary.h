// The engine's acceptance summary of speculative decoding (GET /workbench/v1/speculative, and the
// same counters in every telemetry snapshot's "speculative"; docs/api.md "Speculative decoding")
// as plain data, and the series and sentences the MTP view and the status bar draw from it.
// No widgets: tested on canned JSON.
#pragma once

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QVector>

#include <optional>

namespace moe::ui {

// The fields of usage.speculative: what verification decided over some steps.
struct AcceptanceCounters {
    qint64 steps = 0;
    qint64 drafted = 0;
    qint64 accepted = 0;
    QVector<qint64> drafted_per_position;
    QVector<qint64> accepted_per_position;
    QVector<double> rate_per_position;  // accepted / drafted per draft position (0 when none drafted)
    double acceptance_rate = 0;
    double mean_accepted_length = 0;  // tokens per verification step, the model's own token included

    static AcceptanceCounters fromJson(const QJsonObject& o);
};

// One finished speculative request (a history entry, or last_request).
struct SpeculativeRecord {
    AcceptanceCounters counters;
    double time = 0;  // unix seconds at its end
    QString domain;   // "" when the request named none
    int draft_tokens = 0;
    double tokens_per_second = 0;
    int completion_tokens = 0;

    static SpeculativeRecord fromJson(const QJsonObject& o);
};

// One line of the acceptance chart: a draft position's acceptance per reply.
struct AcceptanceSeries {
    int position = 0;   // 1 = the first drafted token of a step
    QVector<double> x;  // the reply's number among the speculative replies since the model was loaded
    QVector<double> y;  // its acceptance at this position, in percent
};

struct SpeculativeSummary {
    QString model;
    int mtp_modules = 0;
    AcceptanceCounters cumulative;
    QMap<QString, AcceptanceCounters> domains;
    std::optional<AcceptanceCounters> running;  // the request decoding now, when it speculates
    std::optional<SpeculativeRecord> last_request;
    qint64 speculative_requests = 0;
    qint64 plain_requests = 0;
    std::optional<double> speculative_tokens_per_second;  // decode rate averaged over requests
    std::optional<double> plain_tokens_per_second;
    std::optional<double> speedup;  // speculative / plain, once both kinds ran
    QVector<SpeculativeRecord> history;  // oldest first

    static SpeculativeSummary fromJson(const QJsonObject& o);

    bool anySpeculation() const { return cumulative.steps > 0 || last_request.has_value() || running.has_value(); }
    // The most draft positions any reply of the history drafted.
    int positions() const;
    // One series per draft position over the history's replies (a reply that did not draft that far
    // has no point there).
    QVector<AcceptanceSeries> acceptanceSeries() const;
    // Domain names and their acceptance over all positions, in percent, in name order.
    QStringList domainNames() const { return domains.keys(); }
    QVector<double> domainAcceptance() const;

    QString meanLengthText() const;  // "1.84 tokens per verification step (at most 2 with 1 draft)"
    QString speedText() const;       // both rates and the speed-up, or why there is none yet
};

// The status bar's line: the running request's acceptance, else the last speculative reply's,
// "" when nothing decoded speculatively since the model was loaded.
QString speculativeStatusText(const SpeculativeSummary& summary);

}  // namespace moe::ui
