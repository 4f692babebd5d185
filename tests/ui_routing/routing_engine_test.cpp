// The routing views against a real `moe-engine serve --demo` on the CPU: the live heatmap fills
// during a generation, a per-domain run counts tokens × top_k per layer (tokens from the server's
// returned shape), the specialisation view compares the domains, the bias view shows the demo
// model's e_score_correction_bias, and the token explorer shows each MoE layer's top_k experts with
// the weights the server returned. Every view exports CSV and PNG.
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QMainWindow>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include <cmath>
#include <memory>

#include "bar_chart_widget.h"
#include "bias_panel.h"
#include "domain_panel.h"
#include "heatmap_widget.h"
#include "live_heatmap_panel.h"
#include "routing_docks.h"
#include "demo_engine_fixture.h"
#include "specialisation_panel.h"
#include "token_explorer_panel.h"

using namespace moe::ui;

namespace {

constexpr int kTokenDelayMs = 20;  // makes a 60-token reply last > 1 s: several telemetry snapshots

double sumOfCells(const moe::viz::HeatmapData& data) {
    double sum = 0;
    for (double v : data.values)
        if (!std::isnan(v)) sum += v;
    return sum;
}

// Both exports of a view land as non-empty files; the PNG decodes.
void checkExports(const std::function<bool(const QString&, QString*)>& csv,
                  const std::function<bool(const QString&, QString*)>& png, const QString& stem) {
    QTemporaryDir dir;
    QString error;
    const QString csv_path = dir.filePath(stem + QStringLiteral(".csv"));
    const QString png_path = dir.filePath(stem + QStringLiteral(".png"));
    QVERIFY2(csv(csv_path, &error), qPrintable(error));
    QVERIFY2(png(png_path, &error), qPrintable(error));
    QFile csv_file(csv_path);
    QVERIFY(csv_file.open(QIODevice::ReadOnly));
    QVERIFY(csv_file.readAll().count('\n') >= 2);  // header and at least one row
    QVERIFY(!QImage(png_path).isNull());
}

}  // namespace

class RoutingEngineTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QString error;
        QVERIFY2(engine_.start(kTokenDelayMs, &error), qPrintable(error));
        QVERIFY(engine_.topK() > 0);
        QVERIFY(engine_.experts() > 0);
    }

    void liveHeatmapFillsDuringGeneration() {
        EngineClient& client = engine_.client();
        LiveHeatmapPanel panel(&client);  // starts the telemetry stream
        bool generating = true;
        int filled_while_generating = 0;
        connect(&panel, &LiveHeatmapPanel::updated, this, [&] {
            if (generating && sumOfCells(panel.heatmap()->data()) > 0) ++filled_while_generating;
        });
        QSignalSpy updated(&panel, &LiveHeatmapPanel::updated);
        QSignalSpy finished(&client, &EngineClient::finished);
        const quint64 id = client.startCompletion(QJsonObject{{"prompt", "The lighthouse keeper's daughter"},
                                                              {"max_tokens", 60}, {"ignore_eos", true},
                                                              {"temperature", 0}});
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 60'000);
        generating = false;
        QCOMPARE(finished.first().first().toULongLong(), id);
        QVERIFY(updated.size() >= 2);
        QVERIFY2(filled_while_generating >= 1, "no non-zero heatmap cells arrived while the model generated");
        qInfo("live heatmap: %d updates, %d with non-zero cells while generating", int(updated.size()),
              filled_while_generating);
        QCOMPARE(panel.source(), LiveHeatmapPanel::Source::Telemetry);

        // Cumulative view = the engine's counters: each MoE layer's row sums to routed_tokens × top_k
        // of the snapshot it came from.
        QSignalSpy snapshots(&client, &EngineClient::telemetry);
        panel.setMode(LiveHeatmapPanel::Mode::Cumulative);
        QVERIFY(snapshots.wait(5000));
        panel.heatmap()->flush();
        const QJsonObject routing = snapshots.last().first().toJsonObject().value("routing").toObject();
        const int top_k = routing.value("top_k").toInt();
        QCOMPARE(top_k, engine_.topK());
        const moe::viz::HeatmapData& shown = panel.heatmap()->data();
        for (const QJsonValue& v : routing.value("layers").toArray()) {
            const QJsonObject layer = v.toObject();
            if (layer.value("mtp").toBool()) continue;
            const int l = layer.value("layer").toInt();
            double row = 0;
            for (int e = 0; e < shown.cols; ++e) row += shown.at(l, e);
            QCOMPARE(row, layer.value("routed_tokens").toDouble() * top_k);
        }
        QVERIFY(panel.heatmap()->replotCount() >= 1);
        QVERIFY(panel.summary().contains(QStringLiteral("each token goes to %1 of").arg(top_k)));
        checkExports([&](const QString& p, QString* e) { return panel.exportCsv(p, e); },
                     [&](const QString& p, QString* e) { return panel.exportPng(p, e); }, QStringLiteral("live"));
    }

    void domainRunCountsTokensTimesTopKPerLayer() {
        EngineClient& client = engine_.client();
        QVERIFY(corpus_dir_.isValid());
        const QString alpha_text = QStringLiteral(
            "The harbour master rowed out at low water and saw the sandbar for himself, a long grey back "
            "just under the surface. He went home and wrote a letter to the office in the city, and the "
            "new tide tables arrived in the autumn, printed on better paper than the old ones.");
        const QString beta_text = QStringLiteral(
            "def lower_bound(values, target):\n    lo, hi = 0, len(values)\n    while lo < hi:\n"
            "        mid = (lo + hi) // 2\n        if values[mid] < target:\n            lo = mid + 1\n"
            "        else:\n            hi = mid\n    return lo\n");
        const QString alpha = corpus_dir_.filePath(QStringLiteral("alpha.txt"));
        const QString beta = corpus_dir_.filePath(QStringLiteral("beta.txt"));
        for (const auto& [path, text] : {std::pair{alpha, alpha_text}, std::pair{beta, beta_text}}) {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(text.toUtf8());
        }
        domains_ = std::make_unique<DomainPanel>(&client);
        for (const DomainCorpus& d : domains_->domains()) domains_->setDomainChecked(d.name, false);
        QString error;
        QVERIFY2(domains_->addFile(alpha, QString(), &error), qPrintable(error));
        QVERIFY2(domains_->addFile(beta, QString(), &error), qPrintable(error));
        QCOMPARE(domains_->checkedDomains(), (QStringList{"alpha", "beta"}));
        constexpr int kTokensPerChunk = 24;
        domains_->setTokensPerChunk(kTokensPerChunk);

        QSignalSpy routed(&client, &EngineClient::routedExperts);
        QSignalSpy replies(&client, &EngineClient::finished);
        QSignalSpy sent(domains_->run(), &DomainRun::chunkSent);
        QSignalSpy done(domains_->run(), &DomainRun::finished);
        QVERIFY(domains_->startRun());
        QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 120'000);
        QVERIFY2(done.first().at(0).toBool(), qPrintable(done.first().at(1).toString()));
        QCOMPARE(routed.size(), sent.size());
        QCOMPARE(replies.size(), sent.size());
        QVERIFY(sent.size() >= 4);

        // Tokens per domain from what the server returned: the routing shape's rows, which for a
        // 1-token completion are the prompt's tokens (usage.prompt_tokens) — checked too.
        qint64 tokens[2] = {0, 0};
        int chunks[2] = {0, 0};
        for (int i = 0; i < routed.size(); ++i) {
            const auto routing = routed.at(i).at(1).value<RoutedExperts>();
            const auto result = replies.at(i).at(1).value<CompletionResult>();
            QCOMPARE(routed.at(i).at(0), sent.at(i).at(0));  // same request id
            QCOMPARE(routing.tokens, result.prompt_tokens);
            QCOMPARE(routing.top_k, engine_.topK());
            const int d = sent.at(i).at(1).toString() == QStringLiteral("alpha") ? 0 : 1;
            tokens[d] += routing.tokens;
            ++chunks[d];
        }
        // After the first chunk calibrates the estimate, chunks hold about the asked-for tokens.
        const double mean_tokens = double(tokens[0] + tokens[1]) / routed.size();
        QVERIFY2(mean_tokens > kTokensPerChunk * 0.5 && mean_tokens < kTokensPerChunk * 2,
                 qPrintable(QStringLiteral("%1 tokens per chunk on average, asked for %2").arg(mean_tokens).arg(kTokensPerChunk)));
        const QVector<int> server_moe_layers = routed.first().at(1).value<RoutedExperts>().moe_layers;
        qInfo("per-domain run: alpha %d chunks / %lld tokens, beta %d chunks / %lld tokens, top-%d of %d experts, "
              "MoE layers %d of %d", chunks[0], qlonglong(tokens[0]), chunks[1], qlonglong(tokens[1]),
              engine_.topK(), engine_.experts(), int(server_moe_layers.size()),
              routed.first().at(1).value<RoutedExperts>().layers);
        QVERIFY(!server_moe_layers.isEmpty());
        for (int d = 0; d < 2; ++d) {
            const LayerExpertCounts* counts = domains_->run()->results().find(d == 0 ? "alpha" : "beta");
            QVERIFY(counts);
            QCOMPARE(counts->moe_layers, server_moe_layers);
            QCOMPARE(counts->n_experts, engine_.experts());
            for (int l = 0; l < counts->layers; ++l) {
                const qint64 expected = server_moe_layers.contains(l) ? tokens[d] * engine_.topK() : 0;
                QVERIFY2(counts->layerSum(l) == expected,
                         qPrintable(QStringLiteral("domain %1 layer %2: %3 hits, expected %4 tokens × top-%5")
                                        .arg(d).arg(l).arg(counts->layerSum(l)).arg(tokens[d]).arg(engine_.topK())));
            }
        }
        // The heatmap shows the selected domain's counts.
        domains_->showDomain(QStringLiteral("beta"));
        domains_->heatmap()->flush();
        QCOMPARE(sumOfCells(domains_->heatmap()->data()), double(tokens[1] * engine_.topK() * server_moe_layers.size()));
        QVERIFY(domains_->status().contains(QStringLiteral("Done: %1 pieces of text").arg(routed.size())));
        checkExports([&](const QString& p, QString* e) { return domains_->exportDomainCsv(p, e); },
                     [&](const QString& p, QString* e) { return domains_->exportPng(p, e); }, QStringLiteral("domain"));
        QTemporaryDir dir;
        QVERIFY2(domains_->exportAllDomainsCsv(dir.filePath("all.csv"), &error), qPrintable(error));
        QFile all(dir.filePath("all.csv"));
        QVERIFY(all.open(QIODevice::ReadOnly));
        QCOMPARE(all.readAll().count('\n'), 1 + 2 * server_moe_layers.size() * engine_.experts());
    }

    void domainRunCanBeCancelled() {
        EngineClient& client = engine_.client();
        DomainPanel panel(&client);  // the five bundled corpora, all checked
        QCOMPARE(panel.checkedDomains().size(), 5);
        QSignalSpy sent(panel.run(), &DomainRun::chunkSent);
        QSignalSpy done(panel.run(), &DomainRun::finished);
        QVERIFY(panel.startRun());
        QTRY_VERIFY_WITH_TIMEOUT(sent.size() >= 2, 30'000);
        panel.run()->cancel();
        QCOMPARE(done.size(), 1);
        QVERIFY(!done.first().at(0).toBool());
        QVERIFY(!panel.run()->isRunning());
        QVERIFY(panel.status().startsWith(QStringLiteral("Cancelled")));
        // What was counted before the cancel is still whole: hits = tokens × top_k per layer.
        const LayerExpertCounts* code = panel.run()->results().find(QStringLiteral("code"));
        QVERIFY(code && code->tokens > 0);
        for (int l : code->moe_layers) QCOMPARE(code->layerSum(l), code->layer_tokens[l] * engine_.topK());
        // The engine is free again: the next request is answered.
        QSignalSpy finished(&client, &EngineClient::finished);
        QSignalSpy failed(&client, &EngineClient::requestFailed);
        const quint64 id = client.startCompletion(QJsonObject{{"prompt", "ok"}, {"max_tokens", 1}});
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() && finished.last().first().toULongLong() == id, 30'000);
        QVERIFY(failed.isEmpty());
        QTest::qWait(200);
        QCOMPARE(done.size(), 1);  // no late "finished" from the cancelled run
    }

    void specialisationComparesTheDomains() {
        QVERIFY2(domains_, "needs the per-domain run of the previous test");
        SpecialisationPanel panel(domains_->run());
        const LayerExpertCounts* alpha = domains_->run()->results().find("alpha");
        panel.setLayer(alpha->moe_layers.first());
        const SpecialisationMatrix& m = panel.matrix();
        QCOMPARE(m.domains, (QStringList{"alpha", "beta"}));
        QCOMPARE(m.n_experts, engine_.experts());
        for (int d = 0; d < 2; ++d) {
            double share = 0;
            for (int e = 0; e < m.n_experts; ++e) {
                share += m.shareAt(d, e);
                QVERIFY(std::isfinite(m.scoreAt(d, e)));
            }
            QVERIFY(std::abs(share - 1.0) < 1e-9);
        }
        QCOMPARE(panel.topList()->topLevelItemCount(), 2);
        QCOMPARE(panel.topList()->topLevelItem(0)->childCount(), SpecialisationPanel::kTopExperts);
        panel.heatmap()->flush();
        QCOMPARE(panel.heatmap()->data().rows, 2);
        checkExports([&](const QString& p, QString* e) { return panel.exportCsv(p, e); },
                     [&](const QString& p, QString* e) { return panel.exportPng(p, e); }, QStringLiteral("special"));
    }

    void biasViewShowsTheModelsBias() {
        EngineClient& client = engine_.client();
        BiasPanel panel(&client);
        QSignalSpy updated(&panel, &BiasPanel::updated);
        QSignalSpy snapshots(&client, &EngineClient::telemetry);
        client.startTelemetry(250);
        QVERIFY(updated.wait(10'000));
        QVERIFY2(panel.hasBias(), qPrintable(panel.status()));
        panel.heatmap()->flush();
        const moe::viz::HeatmapData& shown = panel.heatmap()->data();
        int non_zero = 0;
        for (double v : shown.values) non_zero += !std::isnan(v) && v != 0.0;
        QVERIFY2(non_zero > 0, "the demo model's bias should not be all zeros");
        // Every value is the snapshot's, layer by layer.
        QVERIFY(!snapshots.isEmpty());
        const QJsonObject routing = snapshots.last().first().toJsonObject().value("routing").toObject();
        int first_moe = -1;
        for (const QJsonValue& v : routing.value("layers").toArray()) {
            const QJsonObject layer = v.toObject();
            if (layer.value("mtp").toBool()) continue;
            const int l = layer.value("layer").toInt();
            if (first_moe < 0) first_moe = l;
            const QJsonArray bias = layer.value("bias").toArray();
            QCOMPARE(bias.size(), shown.cols);
            for (int e = 0; e < shown.cols; ++e) QCOMPARE(shown.at(l, e), bias[e].toDouble());
        }
        panel.setLayer(first_moe);
        panel.bars()->flush();
        QCOMPARE(panel.bars()->values().size(), shown.cols);
        for (int e = 0; e < shown.cols; ++e) QCOMPARE(panel.bars()->values()[e], shown.at(first_moe, e));
        checkExports([&](const QString& p, QString* e) { return panel.exportMatrixCsv(p, e); },
                     [&](const QString& p, QString* e) { return panel.exportHeatmapPng(p, e); }, QStringLiteral("bias"));
        checkExports([&](const QString& p, QString* e) { return panel.exportLayerCsv(p, e); },
                     [&](const QString& p, QString* e) { return panel.exportBarsPng(p, e); }, QStringLiteral("bias-layer"));
    }

    void explorerShowsTopKExpertsAndWeightsPerLayer() {
        EngineClient& client = engine_.client();
        QSignalSpy routed(&client, &EngineClient::routedExperts);
        QSignalSpy finished(&client, &EngineClient::finished);
        client.startCompletion(QJsonObject{{"prompt", "Hello there, how are"}, {"max_tokens", 6}, {"ignore_eos", true},
                                           {"temperature", 0}, {"return_routed_experts", true}});
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 30'000);
        QCOMPARE(routed.size(), 1);
        const auto routing = routed.first().at(1).value<RoutedExperts>();
        const auto result = finished.first().at(1).value<CompletionResult>();
        QCOMPARE(result.tokens.size(), result.completion_tokens);
        QVERIFY2(routing.weights.size() == routing.ids.size(), "the server sent no routing weights");

        TokenExplorerPanel panel(&client);
        const int index = 2;
        panel.showToken(routing, result.tokens, index, result.prompt_tokens);
        const int row = result.prompt_tokens + index - routing.start_len;
        QCOMPARE(panel.routingRow(), row);
        QVERIFY(panel.heading().contains(QStringLiteral("Token 3 of 6 of the reply")));
        QTableWidget* table = panel.table();
        QCOMPARE(table->rowCount(), routing.moe_layers.size());
        QCOMPARE(table->columnCount(), engine_.topK());
        panel.heatmap()->flush();
        for (int r = 0; r < table->rowCount(); ++r) {
            const int layer = routing.moe_layers[r];
            for (int k = 0; k < routing.top_k; ++k) {
                const int i = (row * routing.layers + layer) * routing.top_k + k;
                const QTableWidgetItem* item = table->item(r, k);
                QCOMPARE(item->data(TokenExplorerPanel::kExpertRole).toInt(), routing.ids[i]);
                QCOMPARE(item->data(TokenExplorerPanel::kWeightRole).toDouble(), double(routing.weights[i]));
                QVERIFY(routing.weights[i] > 0);
                QCOMPARE(panel.heatmap()->data().at(layer, routing.ids[i]), double(routing.weights[i]));
            }
        }
        checkExports([&](const QString& p, QString* e) { return panel.exportCsv(p, e); },
                     [&](const QString& p, QString* e) { return panel.exportPng(p, e); }, QStringLiteral("token"));

        panel.showNext();
        QCOMPARE(panel.tokenIndex(), index + 1);
        QCOMPARE(panel.routingRow(), row + 1);
        panel.showPrevious();
        QCOMPARE(panel.tokenIndex(), index);
        // The last sampled token never ran through the model: no routing row.
        panel.showToken(routing, result.tokens, int(result.tokens.size()) - 1, result.prompt_tokens);
        QCOMPARE(panel.routingRow(), -1);
        QCOMPARE(panel.table()->rowCount(), 0);
        QVERIFY(panel.heading().contains(QStringLiteral("never fed back into the model")));
    }

    void docksCarryTheirNames() {
        QMainWindow window;
        TokenExplorerPanel* explorer = nullptr;
        const QList<QDockWidget*> docks = createRoutingDocks(&engine_.client(), &window, &explorer);
        QStringList names;
        for (QDockWidget* dock : docks) names << dock->objectName();
        QCOMPARE(names, (QStringList{"routing.live", "routing.domains", "routing.specialisation", "routing.bias",
                                     "routing.tokens"}));
        QVERIFY(explorer);
        QCOMPARE(window.findChild<TokenExplorerPanel*>(QStringLiteral("routing.tokens.panel")), explorer);
    }

    void cleanupTestCase() { domains_.reset(); }

private:
    test::DemoEngineFixture engine_;
    QTemporaryDir corpus_dir_;
    std::unique_ptr<DomainPanel> domains_;
};

QTEST_MAIN(RoutingEngineTest)
#include "routing_engine_test.moc"
