// The routing views' plain logic, without an engine: counting routed experts, telemetry windows,
// chunking corpora, specialisation scores, and the bundled corpora themselves.
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>
#include <qcustomplot.h>

#include <cmath>

#include <QTableWidget>

#include "bias_panel.h"
#include "domain_corpus.h"
#include "heatmap_widget.h"
#include "live_heatmap_panel.h"
#include "token_explorer_panel.h"
#include "layer_expert_counts.h"
#include "specialisation.h"
#include "telemetry_frame.h"

using namespace moe::ui;

namespace {

// tokens × layers × top_k ids; layer 0 dense (-1); expert of (t, l, k) = (t + 3l + k) mod experts,
// distinct over k as long as top_k <= experts.
RoutedExperts syntheticRouting(int tokens, int layers, int top_k, int experts) {
    RoutedExperts r;
    r.tokens = tokens;
    r.layers = layers;
    r.top_k = top_k;
    for (int l = 1; l < layers; ++l) r.moe_layers << l;
    for (int t = 0; t < tokens; ++t)
        for (int l = 0; l < layers; ++l)
            for (int k = 0; k < top_k; ++k) r.ids << (l == 0 ? -1 : (t + 3 * l + k) % experts);
    return r;
}

QJsonObject snapshot(double time, const QVector<QVector<int>>& loads, const QVector<int>& tokens, bool bias) {
    QJsonArray layers;
    for (int i = 0; i < loads.size(); ++i) {
        QJsonArray load, b;
        for (int v : loads[i]) load << v;
        for (int e = 0; e < loads[i].size(); ++e) b << 0.01 * (e - 1);
        layers << QJsonObject{{"layer", i + 1}, {"mtp", false}, {"expert_load", load},
                              {"routed_tokens", tokens[i]}, {"bias", bias ? QJsonValue(b) : QJsonValue()}};
    }
    layers << QJsonObject{{"layer", 9}, {"mtp", true}, {"expert_load", QJsonArray{1, 1, 1, 1}}, {"routed_tokens", 2}};
    return QJsonObject{{"object", "workbench.telemetry"}, {"time", time}, {"model", "m"},
                       {"routing", QJsonObject{{"top_k", 2}, {"n_experts", 4}, {"layers", layers}}}};
}

}  // namespace

class RoutingLogicTest : public QObject {
    Q_OBJECT
private slots:
    void countsSumToTokensTimesTopK() {
        LayerExpertCounts counts;
        counts.ensureExperts(16);
        counts.add(syntheticRouting(7, 4, 3, 16));
        counts.add(syntheticRouting(5, 4, 3, 16));
        QCOMPARE(counts.tokens, 12);
        QCOMPARE(counts.moe_layers, (QVector<int>{1, 2, 3}));
        QCOMPARE(counts.layerSum(0), 0);
        for (int l = 1; l < 4; ++l) {
            QCOMPARE(counts.layerSum(l), 12 * 3);
            QCOMPARE(counts.layer_tokens[l], 12);
        }
        // Hits of expert 5 in layer 1, counted straight from the generating rule (t + 3l + k) mod 16.
        int expected = 0;
        for (int t = 0; t < 7; ++t) for (int k = 0; k < 3; ++k) expected += (t + 3 + k) % 16 == 5;
        for (int t = 0; t < 5; ++t) for (int k = 0; k < 3; ++k) expected += (t + 3 + k) % 16 == 5;
        QCOMPARE(counts.at(1, 5), expected);
        const moe::viz::HeatmapData heat = counts.toHeatmap(QStringLiteral("hits"));
        QCOMPARE(heat.rows, 4);
        QCOMPARE(heat.cols, 16);
        QVERIFY(std::isnan(heat.at(0, 0)));  // dense layer: no data
        QCOMPARE(heat.at(1, 5), double(expected));
    }

    void countsGrowToLargerExpertIdsAndRestartForAnotherModel() {
        LayerExpertCounts counts;
        counts.add(syntheticRouting(2, 3, 2, 4));
        QCOMPARE(counts.n_experts, 4);
        counts.add(syntheticRouting(1, 3, 2, 10));
        QVERIFY(counts.n_experts >= 4);
        QCOMPARE(counts.layerSum(1), 3 * 2);
        counts.add(syntheticRouting(3, 5, 2, 8));  // another shape: another model
        QCOMPARE(counts.layers, 5);
        QCOMPARE(counts.tokens, 3);
        QCOMPARE(counts.layerSum(4), 3 * 2);
    }

    void telemetryFrameParsesAndSkipsMtp() {
        QString why;
        const auto frame = TelemetryFrame::parse(snapshot(10, {{1, 2, 3, 4}, {5, 0, 0, 5}}, {5, 5}, true), &why);
        QVERIFY2(frame, qPrintable(why));
        QCOMPARE(frame->layers, 3);  // layer 0 dense, 1 and 2 MoE; the MTP layer 9 left out
        QCOMPARE(frame->moe_layers, (QVector<int>{1, 2}));
        QCOMPARE(frame->load(2, 3), 5);
        QCOMPARE(frame->tokens(), 5);
        QVERIFY(frame->has_bias);
        QCOMPARE(frame->bias[1 * 4 + 0], -0.01);
        QVERIFY(std::isnan(frame->bias[0]));
        QVERIFY(!TelemetryFrame::parse(QJsonObject{{"routing", QJsonValue()}}, &why));
        QVERIFY(why.contains(QStringLiteral("no routing")));
    }

    void telemetryWindowSubtractsTheOlderCounters() {
        TelemetryHistory history;
        history.add(*TelemetryFrame::parse(snapshot(100, {{1, 1, 0, 0}, {0, 0, 1, 1}}, {1, 1}, false)));
        history.add(*TelemetryFrame::parse(snapshot(105, {{3, 2, 1, 0}, {1, 1, 2, 2}}, {3, 3}, false)));
        history.add(*TelemetryFrame::parse(snapshot(112, {{6, 4, 2, 0}, {3, 2, 3, 4}}, {6, 6}, false)));
        // 10 s window at t=112: the newest frame at or before t=102 is the one at t=100.
        const TelemetryFrame& start = history.windowStart(10);
        QCOMPARE(start.time, 100.0);
        const moe::viz::HeatmapData window = history.latest().loadHeatmap(&start, QStringLiteral("hits"));
        QCOMPARE(window.at(1, 0), 5.0);
        QCOMPARE(window.at(2, 3), 3.0);
        QVERIFY(std::isnan(window.at(0, 0)));
        QCOMPARE(history.windowStart(5).time, 105.0);
        // Counters that go down mean the engine restarted: the history starts again.
        QVERIFY(history.add(*TelemetryFrame::parse(snapshot(113, {{1, 1, 0, 0}, {0, 0, 1, 1}}, {1, 1}, false))));
        QCOMPARE(history.windowStart(10).time, 113.0);
    }

    void chunksCoverTheTextAtWhitespace() {
        const QString text = QStringLiteral("one two three four five six seven eight nine ten eleven twelve");
        const QStringList chunks = chunkText(text, 4);  // ~16 characters each
        QVERIFY(chunks.size() >= 3);
        QCOMPARE(chunks.join(QLatin1Char(' ')), text);  // cut only at single spaces here
        for (const QString& chunk : chunks) {
            QVERIFY(!chunk.isEmpty());
            QVERIFY(estimateTokens(chunk) <= 5);
        }
    }

    void chineseTextIsChunkedBetweenCharacters() {
        const QString text = QStringLiteral("我们村子的东头有一棵老槐树，树干粗得要三个孩子手拉手才能抱住。");
        QCOMPARE(estimateTokens(text), int(text.size()));
        const QStringList chunks = chunkText(text, 10);
        QCOMPARE(chunks.join(QString()), text);
        for (const QString& chunk : chunks) QVERIFY(chunk.size() <= 10);
    }

    void aLongWordIsNeverSplit() {
        const QString word(200, QLatin1Char('x'));
        const QStringList chunks = chunkText(QStringLiteral("a ") + word + QStringLiteral(" b"), 8);
        QVERIFY(chunks.contains(word));
    }

    void specialisationScoresFollowTheFormula() {
        DomainRoutingResults results;
        results.domains = {QStringLiteral("A"), QStringLiteral("B")};
        for (const QVector<int>& hits : {QVector<int>{3, 1}, QVector<int>{1, 3}}) {
            LayerExpertCounts c;
            c.layers = 2;
            c.n_experts = 2;
            c.top_k = 1;
            c.moe_layers = {1};
            c.counts = {0, 0, hits[0], hits[1]};
            c.layer_tokens = {0, 4};
            c.tokens = 4;
            results.counts << c;
        }
        const SpecialisationMatrix m = specialisation(results, 1);
        QCOMPARE(m.domains, results.domains);
        // p_A = ((3+.5)/5, (1+.5)/5) = (0.7, 0.3); p_B = (0.3, 0.7); mean 0.5 for both experts.
        QCOMPARE(m.shareAt(0, 0), 0.7);
        QCOMPARE(m.scoreAt(0, 0), std::log2(0.7 / 0.5));
        QCOMPARE(m.scoreAt(1, 0), std::log2(0.3 / 0.5));
        QCOMPARE(topExperts(m, 0, 1).first().expert, 0);
        QCOMPARE(topExperts(m, 1, 1).first().expert, 1);
        QVERIFY(specialisation(results, 0).domains.isEmpty());  // dense layer: nothing to compare
    }

    void bundledCorporaAreTheFiveDomains() {
        const QVector<DomainCorpus> domains = builtinDomains();
        QStringList names;
        for (const DomainCorpus& d : domains) {
            names << d.name;
            const int bytes = int(d.texts.join(QString()).toUtf8().size());
            QVERIFY2(bytes >= 3000 && bytes <= 8500, qPrintable(QStringLiteral("%1: %2 bytes").arg(d.name).arg(bytes)));
        }
        QCOMPARE(names, (QStringList{"code", "math", "english-prose", "chinese-prose", "dialogue"}));
    }

    // A server without telemetry (SGLang): the live view counts the routed experts of finished requests.
    void liveViewFallsBackToFinishedRequests() {
        LiveHeatmapPanel panel(nullptr);
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::None);
        panel.onRoutedExperts(1, syntheticRouting(5, 4, 2, 8));
        panel.onRoutedExperts(2, syntheticRouting(3, 4, 2, 8));
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::FinishedRequests);
        QCOMPARE(panel.tokensShown(), 8);
        panel.heatmap()->flush();
        const moe::viz::HeatmapData& shown = panel.heatmap()->data();
        for (int l = 1; l < 4; ++l) {
            double row = 0;
            for (int e = 0; e < shown.cols; ++e) row += shown.at(l, e);
            QCOMPARE(row, 8.0 * 2);
        }
        QVERIFY(panel.summary().contains(QStringLiteral("No live statistics from this server")));
        // Once telemetry arrives it is the source (its counters include every request).
        panel.onTelemetry(snapshot(1, {{1, 1, 0, 0}, {0, 0, 1, 1}}, {1, 1}, false));
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::Telemetry);
        panel.setMode(LiveHeatmapPanel::Mode::Cumulative);
        QCOMPARE(panel.tokensShown(), 1);
    }

    // Issue #14 item 7: an idle sliding window was one flat purple grid with no word of why.
    void anEmptyWindowSaysWhyAndWhatToDo() {
        LiveHeatmapPanel panel(nullptr);
        QVERIFY2(panel.emptyMessage().startsWith(QStringLiteral("Waiting for the engine")), qPrintable(panel.emptyMessage()));
        panel.setWindowSeconds(10);
        panel.onTelemetry(snapshot(100, {{1, 1, 0, 0}, {0, 0, 1, 1}}, {1, 1}, false));
        panel.onTelemetry(snapshot(111, {{1, 1, 0, 0}, {0, 0, 1, 1}}, {1, 1}, false));  // 11 s without a token
        QCOMPARE(panel.tokensShown(), 0);
        QVERIFY2(panel.emptyMessage().contains(QStringLiteral("No tokens went through the model in the last 10 s")),
                 qPrintable(panel.emptyMessage()));
        QVERIFY(panel.emptyMessage().contains(QStringLiteral("Send a message in the chat")));
        panel.heatmap()->flush();
        QVERIFY(panel.heatmap()->isShowingEmptyMessage());
        QVERIFY(!panel.heatmap()->colorMap()->visible());
        // Everything since loading is not empty: the grid comes back.
        panel.setMode(LiveHeatmapPanel::Mode::Cumulative);
        QCOMPARE(panel.emptyMessage(), QString());
        panel.setMode(LiveHeatmapPanel::Mode::Window);
        QVERIFY(!panel.emptyMessage().isEmpty());
        // New tokens in the window: the grid again.
        panel.onTelemetry(snapshot(112, {{3, 2, 1, 0}, {1, 1, 2, 2}}, {3, 3}, false));
        QCOMPARE(panel.tokensShown(), 2);
        QCOMPARE(panel.emptyMessage(), QString());
        panel.heatmap()->flush();
        QVERIFY(panel.heatmap()->colorMap()->visible());
    }

    // Issue #14 item 4: counts of finished replies belong to the model that wrote them.
    void requestCountsStartAfreshForAnotherModel() {
        LiveHeatmapPanel panel(nullptr);
        panel.onModels(QJsonArray{QJsonObject{{"id", "model-a"}}});
        panel.onRoutedExperts(1, syntheticRouting(5, 4, 2, 8));
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::FinishedRequests);
        panel.onModels(QJsonArray{QJsonObject{{"id", "model-b"}}});
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::None);
        QCOMPARE(panel.tokensShown(), 0);
    }

    void biasViewSaysWhenTheModelHasNoBias() {
        BiasPanel panel(nullptr);
        QVERIFY(!panel.hasBias());
        QVERIFY(panel.status().contains(QStringLiteral("not available from this server")));
        panel.onTelemetry(snapshot(1, {{1, 1, 0, 0}}, {1}, false));
        QVERIFY(!panel.hasBias());
        QVERIFY(panel.status().contains(QStringLiteral("has no routing bias")));
        panel.onTelemetry(snapshot(2, {{1, 1, 0, 0}}, {1}, true));
        QVERIFY(panel.hasBias());
    }

    void explorerWithoutWeightsShowsIds() {
        TokenExplorerPanel panel;
        RoutedExperts routing = syntheticRouting(6, 3, 2, 8);
        QVector<CompletionToken> tokens(3);
        tokens[1].text = QStringLiteral(" a b");
        panel.showToken(routing, tokens, 1, 4);  // row 4 + 1 - 0 = 5
        QCOMPARE(panel.routingRow(), 5);
        QVERIFY(panel.heading().contains(QStringLiteral("without weights")));
        QVERIFY(panel.heading().contains(QString::fromUtf8("“␣a␣b”")));
        QCOMPARE(panel.table()->rowCount(), 2);
        QCOMPARE(panel.table()->item(0, 1)->data(TokenExplorerPanel::kExpertRole).toInt(), routing.expert_id(5, 1, 1));
        QVERIFY(std::isnan(panel.table()->item(0, 1)->data(TokenExplorerPanel::kWeightRole).toDouble()));
    }
};

QTEST_MAIN(RoutingLogicTest)
#include "routing_logic_test.moc"
