// The MTP acceptance view's plain logic and widgets on canned engine answers (docs/api.md
// "Speculative decoding"): the summary parsed into one acceptance line per draft position and
// per-domain bars, the sentences for mean accepted length and speed-up (and for a speed-up not yet
// known), a model without MTP modules, and the status bar's acceptance field.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QFile>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <qcustomplot.h>

#include "bar_chart_widget.h"
#include "engine_client.h"
#include "engine_status_bar.h"
#include "mtp_panel.h"
#include "speculative_summary.h"
#include "time_series_widget.h"

using namespace moe::ui;

namespace {

QJsonObject counters(int steps, const QVector<int>& drafted, const QVector<int>& accepted) {
    QJsonArray d, a, r;
    qint64 sum_d = 0, sum_a = 0;
    for (int i = 0; i < drafted.size(); ++i) {
        d.append(drafted[i]);
        a.append(accepted[i]);
        r.append(drafted[i] ? double(accepted[i]) / drafted[i] : 0.0);
        sum_d += drafted[i];
        sum_a += accepted[i];
    }
    return QJsonObject{{"steps", steps},
                       {"drafted", sum_d},
                       {"accepted", sum_a},
                       {"drafted_per_position", d},
                       {"accepted_per_position", a},
                       {"acceptance_rate_per_position", r},
                       {"acceptance_rate", sum_d ? double(sum_a) / sum_d : 0.0},
                       {"mean_accepted_length", steps ? double(sum_a + steps) / steps : 0.0}};
}

QJsonObject record(QJsonObject c, double time, const QString& domain, int draft_tokens, double tps) {
    c.insert("time", time);
    c.insert("domain", domain.isEmpty() ? QJsonValue() : QJsonValue(domain));
    c.insert("draft_tokens", draft_tokens);
    c.insert("decode_tokens_per_second", tps);
    c.insert("completion_tokens", 64);
    return c;
}

// 5 speculative requests so far, the history holding the last 3 (two drafts per step).
QJsonObject summary(bool plain_ran) {
    const QJsonArray history{
        record(counters(40, {40, 40}, {30, 10}), 100.0, "code", 2, 1400.0),
        record(counters(20, {20, 20}, {10, 5}), 101.0, "math", 2, 1200.0),
        record(counters(41, {41, 41}, {35, 20}), 102.0, "", 2, 1510.2),
    };
    return QJsonObject{
        {"object", "workbench.speculative"},
        {"model", "demo-trained"},
        {"mtp_modules", 2},
        {"default", QJsonObject{{"enabled", false}, {"draft_tokens", 0}}},
        {"cumulative", counters(120, {120, 120}, {96, 48})},
        {"domains", QJsonObject{{"math", counters(20, {20, 20}, {10, 5})}, {"code", counters(40, {40, 40}, {30, 10})}}},
        {"running", QJsonValue()},
        {"last_request", history.last()},
        {"requests", QJsonObject{{"speculative", 5}, {"plain", plain_ran ? 2 : 0}}},
        {"decode_tokens_per_second",
         QJsonObject{{"speculative", 1510.2},
                     {"plain", plain_ran ? QJsonValue(902.4) : QJsonValue()},
                     {"speedup", plain_ran ? QJsonValue(1510.2 / 902.4) : QJsonValue()}}},
        {"history", history}};
}

}  // namespace

class SpeculativeLogicTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void summaryBecomesOneLinePerDraftPosition() {
        const SpeculativeSummary s = SpeculativeSummary::fromJson(summary(true));
        QCOMPARE(s.mtp_modules, 2);
        QCOMPARE(s.model, QStringLiteral("demo-trained"));
        QCOMPARE(s.history.size(), 3);
        QCOMPARE(s.positions(), 2);
        QVERIFY(!s.running);
        QVERIFY(s.last_request);
        QCOMPARE(s.last_request->draft_tokens, 2);
        const QVector<AcceptanceSeries> series = s.acceptanceSeries();
        QCOMPARE(series.size(), 2);
        // The history holds requests 3..5 of 5: they keep those numbers.
        QCOMPARE(series[0].x, (QVector<double>{3, 4, 5}));
        QCOMPARE(series[1].x, (QVector<double>{3, 4, 5}));
        QCOMPARE(series[0].y[0], 75.0);
        QCOMPARE(series[1].y[1], 25.0);
        QVERIFY(qAbs(series[0].y[2] - 100.0 * 35 / 41) < 1e-9);
        // Domains in name order, acceptance over every position.
        QCOMPARE(s.domainNames(), (QStringList{"code", "math"}));
        QCOMPARE(s.domainAcceptance(), (QVector<double>{50.0, 37.5}));
    }

    void sentencesSayLengthAndSpeedInWords() {
        const SpeculativeSummary s = SpeculativeSummary::fromJson(summary(true));
        QCOMPARE(s.meanLengthText(),
                 QStringLiteral("Mean accepted length: 2.20 tokens per verification step (at most 3 with 2 drafts per "
                                "step), over 120 steps; 60 % of drafted tokens kept."));
        QVERIFY2(s.speedText().contains(QStringLiteral("speculative 1510.2 tokens/s, plain 902.4 tokens/s")),
                 qPrintable(s.speedText()));
        QVERIFY2(s.speedText().contains(QStringLiteral("Speed-up: 1.67×")), qPrintable(s.speedText()));

        const SpeculativeSummary only_spec = SpeculativeSummary::fromJson(summary(false));
        QVERIFY(!only_spec.speedup);
        QVERIFY2(only_spec.speedText().contains(QStringLiteral("plain not measured yet")), qPrintable(only_spec.speedText()));
        QVERIFY2(only_spec.speedText().contains(QStringLiteral("Speed-up: not known yet")), qPrintable(only_spec.speedText()));

        const SpeculativeSummary empty = SpeculativeSummary::fromJson(QJsonObject{{"mtp_modules", 1}});
        QVERIFY(!empty.anySpeculation());
        QVERIFY(empty.acceptanceSeries().isEmpty());
        QVERIFY(empty.meanLengthText().contains(QStringLiteral("no speculative reply yet")));
        QCOMPARE(speculativeStatusText(empty), QString());
    }

    void panelDrawsTheSummary() {
        MtpPanel panel(nullptr);
        panel.showSummary(summary(true));
        QVERIFY(panel.summary());
        QCOMPARE(panel.acceptanceChart()->seriesCount(), 2);
        QCOMPARE(panel.acceptanceChart()->seriesName(0), QStringLiteral("1st drafted token"));
        QCOMPARE(panel.acceptanceChart()->seriesName(1), QStringLiteral("2nd drafted token"));
        QCOMPARE(panel.acceptanceChart()->pointCount(0), 3);
        QCOMPARE(panel.acceptanceChart()->emptyMessage(), QString());
        // A share keeps its whole scale: 75 % and 100 % do not fill the chart from bottom to top.
        panel.acceptanceChart()->flush();
        QVERIFY(panel.acceptanceChart()->plot()->yAxis->range().lower <= 0);
        QVERIFY(panel.acceptanceChart()->plot()->yAxis->range().upper >= 100);
        QCOMPARE(panel.domainChart()->categoryNames(), (QStringList{"code", "math"}));
        QCOMPARE(panel.domainChart()->values(), (QVector<double>{50.0, 37.5}));
        QCOMPARE(panel.domainChart()->describeCategory(1), QStringLiteral("math: 37.5"));
        QVERIFY(panel.meanLengthText().contains(QStringLiteral("2.20 tokens per verification step")));
        QVERIFY(panel.speedText().contains(QStringLiteral("1.67×")));
        QVERIFY2(panel.statusText().contains(QStringLiteral("has 2 MTP modules to draft with")), qPrintable(panel.statusText()));
        QVERIFY(!panel.acceptanceChart()->isHidden());

        // Every chart exports.
        QTemporaryDir dir;
        QString error;
        QVERIFY2(panel.acceptanceChart()->saveCsv(dir.filePath(QStringLiteral("a.csv")), &error), qPrintable(error));
        QVERIFY2(panel.domainChart()->saveCsv(dir.filePath(QStringLiteral("d.csv")), &error), qPrintable(error));
        QFile domains_csv(dir.filePath(QStringLiteral("d.csv")));
        QVERIFY(domains_csv.open(QIODevice::ReadOnly));
        QVERIFY(QString::fromUtf8(domains_csv.readAll()).contains(QStringLiteral("math,37.5")));

        // A reply being written speculatively now shows under the status.
        QJsonObject running = summary(true);
        running.insert("running", counters(10, {10, 10}, {9, 4}));
        panel.showSummary(running);
        QVERIFY2(panel.statusText().contains(QStringLiteral("MTP, writing: 1st draft kept 90 %")), qPrintable(panel.statusText()));

        // No domain named yet: a sentence instead of empty bars.
        QJsonObject no_domains = summary(true);
        no_domains.insert("domains", QJsonObject{});
        panel.showSummary(no_domains);
        QVERIFY(panel.domainChart()->values().isEmpty());
        QVERIFY(panel.domainChart()->emptyMessage().contains(QStringLiteral("domain")));
    }

    // At most 2 Hz, and only while the view is on screen (a hidden tab asks nothing but after replies).
    void pollsOnlyWhileVisible() {
        EngineClient client;  // pointed nowhere: the polls fail quietly
        MtpPanel panel(&client);
        QCOMPARE(MtpPanel::kPollIntervalMs, 500);
        panel.onModels(QJsonArray{QJsonObject{{"id", "demo-trained"}, {"mtp_modules", 1}}});
        QVERIFY(!panel.isPolling());
        panel.show();
        QVERIFY(panel.isPolling());
        panel.hide();
        QVERIFY(!panel.isPolling());
    }

    // An answer about the model loaded before a switch is not drawn as this model's.
    void answerAboutThePreviousModelIsIgnored() {
        MtpPanel panel(nullptr);
        panel.onModels(QJsonArray{QJsonObject{{"id", "deepseek-v3-tiny"}, {"mtp_modules", 1}}});
        panel.showSummary(summary(true));  // about demo-trained
        QVERIFY(!panel.summary());
        QJsonObject now = summary(true);
        now.insert("model", "deepseek-v3-tiny");
        panel.showSummary(now);
        QVERIFY(panel.summary());
        QCOMPARE(panel.summary()->model, QStringLiteral("deepseek-v3-tiny"));
    }

    void modelWithoutMtpSaysHowToAddOne() {
        MtpPanel panel(nullptr);
        panel.showSummary(summary(true));
        // /v1/models of a model without MTP modules (qwen2-tiny, say).
        panel.onModels(QJsonArray{QJsonObject{{"id", "qwen2-tiny"}, {"mtp_modules", 0}}});
        QVERIFY2(panel.statusText().contains(QStringLiteral("qwen2-tiny has no MTP modules")), qPrintable(panel.statusText()));
        QVERIFY(panel.statusText().contains(QStringLiteral("moe-engine train --model DIR --data FILE --method mtp-head")));
        QVERIFY(panel.acceptanceChart()->isHidden());
        QVERIFY(panel.domainChart()->isHidden());
        QVERIFY(panel.meanLengthText().isEmpty());
        // The same from the summary itself (a server whose model list says nothing about MTP).
        QJsonObject none = summary(false);
        none.insert("mtp_modules", 0);
        none.insert("model", "qwen2-tiny");
        panel.showSummary(none);
        QVERIFY(panel.statusText().contains(QStringLiteral("qwen2-tiny has no MTP modules")));
        panel.onModels({});
        QCOMPARE(panel.statusText(), QStringLiteral("No model loaded."));
    }

    void statusBarShowsAcceptanceOnceSpeculationRan() {
        EngineClient client;
        QStatusBar bar;
        EngineStatusBar status(&client, &bar);
        QCOMPARE(status.speculationText(), QString());
        auto* field = bar.findChild<QWidget*>(QStringLiteral("statusSpeculation"));
        QVERIFY(field && field->isHidden());

        status.setSpeculation(summary(true));  // the last request: 35 of 41 first drafts kept
        QCOMPARE(status.speculationText(),
                 QStringLiteral("MTP, last reply: 1st draft kept 85 % · 2.34 tokens per step · 1510.2 tokens/s"));
        QVERIFY(!field->isHidden());

        // A request decoding now, in a telemetry snapshot.
        QJsonObject running = summary(true);
        running.insert("running", counters(10, {10, 10}, {9, 4}));
        emit client.telemetry(QJsonObject{{"speculative", running}});
        QCOMPARE(status.speculationText(), QStringLiteral("MTP, writing: 1st draft kept 90 % · 2.30 tokens per step"));

        // A new model starts the counters over; no model at all: the field goes away.
        emit client.telemetry(QJsonObject{{"speculative", QJsonObject{{"mtp_modules", 1}}}});
        QVERIFY(field->isHidden());
        emit client.telemetry(QJsonObject{{"speculative", QJsonValue()}});
        QVERIFY(field->isHidden());
    }
};

QTEST_MAIN(SpeculativeLogicTest)
#include "speculative_logic_test.moc"
