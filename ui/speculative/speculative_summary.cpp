#include "speculative_summary.h"

#include <QCoreApplication>
#include <QJsonArray>

#include <algorithm>

namespace moe::ui {

namespace {

QString tr(const char* text) { return QCoreApplication::translate("SpeculativeSummary", text); }

template <typename T>
QVector<T> numbers(const QJsonValue& v) {
    QVector<T> out;
    for (const QJsonValue& x : v.toArray()) out << T(x.toDouble());
    return out;
}

std::optional<double> optionalNumber(const QJsonValue& v) {
    if (!v.isDouble()) return std::nullopt;  // null until the engine has measured it
    return v.toDouble();
}

QString percent(double share) { return QString::number(share * 100.0, 'f', 0) + QStringLiteral(" %"); }
QString rate(double tokens_per_second) { return QString::number(tokens_per_second, 'f', 1); }

}  // namespace

AcceptanceCounters AcceptanceCounters::fromJson(const QJsonObject& o) {
    AcceptanceCounters c;
    c.steps = qint64(o.value(QStringLiteral("steps")).toDouble());
    c.drafted = qint64(o.value(QStringLiteral("drafted")).toDouble());
    c.accepted = qint64(o.value(QStringLiteral("accepted")).toDouble());
    c.drafted_per_position = numbers<qint64>(o.value(QStringLiteral("drafted_per_position")));
    c.accepted_per_position = numbers<qint64>(o.value(QStringLiteral("accepted_per_position")));
    c.rate_per_position = numbers<double>(o.value(QStringLiteral("acceptance_rate_per_position")));
    c.acceptance_rate = o.value(QStringLiteral("acceptance_rate")).toDouble();
    c.mean_accepted_length = o.value(QStringLiteral("mean_accepted_length")).toDouble();
    return c;
}

SpeculativeRecord SpeculativeRecord::fromJson(const QJsonObject& o) {
    SpeculativeRecord r;
    r.counters = AcceptanceCounters::fromJson(o);
    r.time = o.value(QStringLiteral("time")).toDouble();
    r.domain = o.value(QStringLiteral("domain")).toString();
    r.draft_tokens = o.value(QStringLiteral("draft_tokens")).toInt();
    r.tokens_per_second = o.value(QStringLiteral("decode_tokens_per_second")).toDouble();
    r.completion_tokens = o.value(QStringLiteral("completion_tokens")).toInt();
    return r;
}

SpeculativeSummary SpeculativeSummary::fromJson(const QJsonObject& o) {
    SpeculativeSummary s;
    s.model = o.value(QStringLiteral("model")).toString();
    s.mtp_modules = o.value(QStringLiteral("mtp_modules")).toInt();
    s.cumulative = AcceptanceCounters::fromJson(o.value(QStringLiteral("cumulative")).toObject());
    const QJsonObject domains = o.value(QStringLiteral("domains")).toObject();
    for (auto it = domains.begin(); it != domains.end(); ++it)
        s.domains.insert(it.key(), AcceptanceCounters::fromJson(it.value().toObject()));
    if (o.value(QStringLiteral("running")).isObject())
        s.running = AcceptanceCounters::fromJson(o.value(QStringLiteral("running")).toObject());
    if (o.value(QStringLiteral("last_request")).isObject())
        s.last_request = SpeculativeRecord::fromJson(o.value(QStringLiteral("last_request")).toObject());
    const QJsonObject requests = o.value(QStringLiteral("requests")).toObject();
    s.speculative_requests = qint64(requests.value(QStringLiteral("speculative")).toDouble());
    s.plain_requests = qint64(requests.value(QStringLiteral("plain")).toDouble());
    const QJsonObject speed = o.value(QStringLiteral("decode_tokens_per_second")).toObject();
    s.speculative_tokens_per_second = optionalNumber(speed.value(QStringLiteral("speculative")));
    s.plain_tokens_per_second = optionalNumber(speed.value(QStringLiteral("plain")));
    s.speedup = optionalNumber(speed.value(QStringLiteral("speedup")));
    for (const QJsonValue& v : o.value(QStringLiteral("history")).toArray())
        s.history << SpeculativeRecord::fromJson(v.toObject());
    return s;
}

int SpeculativeSummary::positions() const {
    int n = 0;
    for (const SpeculativeRecord& r : history) n = std::max(n, int(r.counters.rate_per_position.size()));
    return n;
}

QVector<AcceptanceSeries> SpeculativeSummary::acceptanceSeries() const {
    QVector<AcceptanceSeries> out(positions());
    for (int p = 0; p < out.size(); ++p) out[p].position = p + 1;
    // The history keeps only the last replies: number them among all speculative replies so far,
    // so a reply keeps its number while older ones scroll out.
    const qint64 first = std::max<qint64>(1, speculative_requests - history.size() + 1);
    for (int i = 0; i < history.size(); ++i) {
        const AcceptanceCounters& c = history[i].counters;
        for (int p = 0; p < c.rate_per_position.size(); ++p) {
            if (c.drafted_per_position.value(p) <= 0 && !c.drafted_per_position.isEmpty()) continue;
            out[p].x << double(first + i);
            out[p].y << c.rate_per_position[p] * 100.0;
        }
    }
    return out;
}

QVector<double> SpeculativeSummary::domainAcceptance() const {
    QVector<double> out;
    for (const AcceptanceCounters& c : domains) out << c.acceptance_rate * 100.0;
    return out;
}

QString SpeculativeSummary::meanLengthText() const {
    if (cumulative.steps <= 0) return tr("Mean accepted length: no speculative reply yet since the model was loaded.");
    const int drafts = last_request ? last_request->draft_tokens : 0;
    QString text = tr("Mean accepted length: %1 tokens per verification step")
                       .arg(cumulative.mean_accepted_length, 0, 'f', 2);
    if (drafts > 0)
        text += drafts == 1 ? tr(" (at most 2 with 1 draft per step)")
                            : tr(" (at most %1 with %2 drafts per step)").arg(drafts + 1).arg(drafts);
    return text + tr(", over %1 steps; %2 of drafted tokens kept.")
                      .arg(cumulative.steps)
                      .arg(percent(cumulative.acceptance_rate));
}

QString SpeculativeSummary::speedText() const {
    const QString spec = speculative_tokens_per_second ? tr("%1 tokens/s").arg(rate(*speculative_tokens_per_second))
                                                       : tr("not measured yet");
    const QString plain = plain_tokens_per_second ? tr("%1 tokens/s").arg(rate(*plain_tokens_per_second))
                                                  : tr("not measured yet");
    QString text = tr("Decoding speed: speculative %1, plain %2.").arg(spec, plain);
    if (speedup)
        return text + tr(" Speed-up: %1× (the replies differ, so this is an indication; "
                         "moe-engine bench --speculative measures the same prompts both ways).")
                          .arg(*speedup, 0, 'f', 2);
    return text + tr(" Speed-up: not known yet — it needs at least one reply with and one without "
                     "speculative decoding since the model was loaded.");
}

QString speculativeStatusText(const SpeculativeSummary& summary) {
    const auto describe = [](const AcceptanceCounters& c) {
        const QString first = c.rate_per_position.isEmpty() ? QStringLiteral("—") : percent(c.rate_per_position.first());
        return tr("1st draft kept %1 · %2 tokens per step").arg(first).arg(c.mean_accepted_length, 0, 'f', 2);
    };
    if (summary.running && summary.running->steps > 0)
        return tr("MTP, writing: %1").arg(describe(*summary.running));
    if (summary.last_request)
        return tr("MTP, last reply: %1 · %2 tokens/s")
            .arg(describe(summary.last_request->counters), rate(summary.last_request->tokens_per_second));
    return {};
}

}  // namespace moe::ui
