// EngineClient against a real `moe-engine serve --demo` on the CPU: streamed chat, routed experts
// and weights in SGLang's layout, cancellation, error messages, telemetry, reachability.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTcpServer>
#include <QtTest>

#include <cmath>
#include <memory>

#include "demo_engine.h"

using namespace moe::ui;
using namespace moe::ui::test;

namespace {

// The finished() result for `id`, waiting up to `ms`.
std::optional<CompletionResult> wait_finished(QSignalSpy& spy, quint64 id, int ms = 60'000) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
        for (const QList<QVariant>& args : spy)
            if (args[0].toULongLong() == id) return args[1].value<CompletionResult>();
        spy.wait(100);
    }
    return std::nullopt;
}

QStringList messages_for(const QSignalSpy& spy, quint64 id) {
    QStringList out;
    for (const QList<QVariant>& args : spy)
        if (args[0].toULongLong() == id) out << args[1].toString();
    return out;
}

qint64 sum(const QJsonArray& a) {
    qint64 s = 0;
    for (const QJsonValue& v : a) s += v.toInteger();
    return s;
}

}  // namespace

class EngineClientTest : public QObject {
    Q_OBJECT
    std::unique_ptr<EngineProcess> engine_;
    std::unique_ptr<EngineClient> client_;
    QJsonObject model_;   // the /v1/models entry
    QJsonObject config_;  // the demo model's config.json, read from disk

private slots:
    void initTestCase() {
        // 5 ms per token: long replies last long enough to cancel mid-stream.
        // One telemetry subscriber at a time: the reconnect test needs a full server.
        engine_ = start_demo_engine({"--test-token-delay-ms", "5", "--max-telemetry-streams", "1"});
        QVERIFY(engine_);
        client_ = std::make_unique<EngineClient>();
        client_->setEndpoint(engine_->endpoint());
        QSignalSpy models(client_.get(), &EngineClient::modelsChanged);
        client_->refreshModels();
        QVERIFY(models.wait(10'000));
        const QJsonArray data = models.first().first().toJsonArray();
        QCOMPARE(data.size(), 1);
        model_ = data.first().toObject();
        QFile f(model_.value("root").toString() + "/config.json");
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(f.fileName()));
        config_ = QJsonDocument::fromJson(f.readAll()).object();
    }

    void modelsListTheDemoModel() {
        QCOMPARE(model_.value("id").toString(), QStringLiteral("demo-trained"));
        QCOMPARE(model_.value("num_layers").toInt(), config_.value("num_hidden_layers").toInt());
        QCOMPARE(model_.value("num_experts_per_tok").toInt(), config_.value("num_experts_per_tok").toInt());
        QCOMPARE(model_.value("backend").toString(), QStringLiteral("cpu"));
        QVERIFY(config_.value("workbench_demo").toBool());
    }

    void chatStreamsDeltasThenFinished() {
        QSignalSpy deltas(client_.get(), &EngineClient::delta);
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        const quint64 id = client_->startChat(chat_body("Hello there", 24, {{"seed", 3}}));
        QVERIFY(id > 0);
        const auto r = wait_finished(finished, id);
        QVERIFY(r.has_value());
        QVERIFY(!deltas.isEmpty());
        QString content, reasoning;
        for (const auto& args : deltas) {
            QCOMPARE(args[0].toULongLong(), id);
            content += args[1].toString();
            reasoning += args[2].toString();
        }
        QCOMPARE(content, r->content);
        QCOMPARE(reasoning, r->reasoning);
        QVERIFY2(r->finish_reason == "stop" || r->finish_reason == "length", qPrintable(r->finish_reason));
        QVERIFY(r->prompt_tokens > 0);
        QVERIFY(r->completion_tokens > 0 && r->completion_tokens <= 24);
        QVERIFY(r->time_to_first_token_ms > 0);
        if (r->completion_tokens > 1) QVERIFY(r->tokens_per_second > 0);
        QVERIFY(r->raw_final.contains("workbench"));
        QVERIFY(r->tokens.isEmpty());  // no routed experts asked for
        qInfo("reply: %d prompt + %d completion tokens, TTFT %.1f ms, %.0f tokens/s", r->prompt_tokens,
              r->completion_tokens, r->time_to_first_token_ms, r->tokens_per_second);
    }

    void completionStreamsText() {
        QSignalSpy deltas(client_.get(), &EngineClient::delta);
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        const quint64 id = client_->startCompletion(
            QJsonObject{{"prompt", "Once upon a time"}, {"max_tokens", 8}, {"ignore_eos", true}, {"seed", 9}});
        const auto r = wait_finished(finished, id);
        QVERIFY(r.has_value());
        QString text;
        for (const auto& args : deltas) text += args[1].toString();
        QCOMPARE(text, r->content);
        QCOMPARE(r->completion_tokens, 8);
        QCOMPARE(r->finish_reason, QStringLiteral("length"));
        QCOMPARE(r->raw_final.value("object").toString(), QStringLiteral("text_completion"));
    }

    void routedExpertsHaveTheSglangShape() {
        QSignalSpy routed(client_.get(), &EngineClient::routedExperts);
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        QSignalSpy failed(client_.get(), &EngineClient::requestFailed);
        const quint64 id = client_->startChat(
            chat_body("Which experts?", 12, {{"seed", 5}, {"ignore_eos", true}, {"return_routed_experts", true}}));
        const auto r = wait_finished(finished, id);
        QVERIFY(r.has_value());
        QVERIFY2(messages_for(failed, id).isEmpty(), qPrintable(messages_for(failed, id).join('\n')));
        QCOMPARE(routed.size(), 1);  // arrives before finished
        QCOMPARE(routed.first()[0].toULongLong(), id);
        const RoutedExperts x = routed.first()[1].value<RoutedExperts>();
        const int layers = config_.value("num_hidden_layers").toInt();
        const int top_k = config_.value("num_experts_per_tok").toInt();
        const int experts = config_.value("n_routed_experts").toInt();
        const int dense = config_.value("first_k_dense_replace").toInt();
        const double scale = config_.value("routed_scaling_factor").toDouble();
        QCOMPARE(r->completion_tokens, 12);
        QCOMPARE(x.tokens, r->prompt_tokens + r->completion_tokens - 1);
        QCOMPARE(x.layers, layers);
        QCOMPARE(x.top_k, top_k);
        QCOMPARE(x.ids.size(), qsizetype(x.tokens) * layers * top_k);
        QCOMPARE(x.weights.size(), x.ids.size());
        QCOMPARE(x.moe_layers.size(), layers - dense);
        for (int t = 0; t < x.tokens; ++t)
            for (int l = 0; l < layers; ++l) {
                double wsum = 0;
                for (int k = 0; k < top_k; ++k) {
                    const int e = x.expert_id(t, l, k);
                    if (l < dense) QCOMPARE(e, -1);
                    else QVERIFY2(e >= 0 && e < experts, qPrintable(QString("token %1 layer %2: %3").arg(t).arg(l).arg(e)));
                    wsum += x.weights[(t * layers + l) * top_k + k];
                }
                // norm_topk_prob: the chosen experts' weights sum to routed_scaling_factor.
                QVERIFY2(std::abs(wsum - (l < dense ? 0.0 : scale)) < 1e-4,
                         qPrintable(QString("token %1 layer %2: weights sum %3").arg(t).arg(l).arg(wsum)));
            }
        QCOMPARE(r->tokens.size(), 12);
        for (const CompletionToken& t : r->tokens) QVERIFY(t.id >= 0 && t.id < config_.value("vocab_size").toInt());
    }

    void cancelStopsTheGeneration() {
        QSignalSpy deltas(client_.get(), &EngineClient::delta);
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        const quint64 id = client_->startChat(chat_body("Go on and on", 400, {{"ignore_eos", true}}));
        QTRY_VERIFY_WITH_TIMEOUT(!deltas.isEmpty(), 30'000);
        client_->cancel(id);
        QCOMPARE(finished.size(), 1);  // at once, synchronously
        const CompletionResult r = finished.first()[1].value<CompletionResult>();
        QCOMPARE(r.finish_reason, QStringLiteral("cancelled"));
        QCOMPARE(client_->activeRequests(), 0);
        // The engine noticed the disconnect and stopped: idle again well before 400 tokens x 5 ms.
        QSignalSpy health(client_.get(), &EngineClient::health);
        QElapsedTimer t;
        t.start();
        bool idle = false;
        while (!idle && t.elapsed() < 1'500) {
            client_->refreshHealth();
            QVERIFY(health.wait(5'000));
            idle = !health.last().first().toJsonObject().value("generating").toBool();
        }
        QVERIFY2(idle, "the engine kept generating after the client cancelled");
        QCOMPARE(finished.size(), 1);  // and nothing more arrived for it
    }

    void badRequestBecomesAReadableError() {
        QSignalSpy failed(client_.get(), &EngineClient::requestFailed);
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        const quint64 id = client_->startChat(chat_body("hi", 4, {{"temperature", 7}}));
        QTRY_VERIFY_WITH_TIMEOUT(!messages_for(failed, id).isEmpty(), 10'000);
        const QString msg = messages_for(failed, id).first();
        QVERIFY2(msg.contains("HTTP 400") && msg.contains("invalid_value") && msg.contains("temperature") &&
                     msg.contains("/v1/chat/completions"),
                 qPrintable(msg));
        QTest::qWait(100);
        QVERIFY(finished.isEmpty());
        QCOMPARE(client_->activeRequests(), 0);
    }

    void wrongApiKeyIsReported() {
        EngineClient other;
        other.setEndpoint(EngineEndpoint{engine_->endpoint().base, QStringLiteral("wrong")});
        QSignalSpy failed(&other, &EngineClient::requestFailed);
        const quint64 id = other.startChat(chat_body("hi", 4));
        QTRY_VERIFY_WITH_TIMEOUT(!messages_for(failed, id).isEmpty(), 10'000);
        const QString msg = messages_for(failed, id).first();
        QVERIFY2(msg.contains("401") && msg.contains("invalid_api_key"), qPrintable(msg));
    }

    // Every token run through the model adds top_k hits to each MoE layer: one reply of P prompt
    // tokens (none cached) and C completion tokens adds P + C - 1 routed tokens.
    void telemetryLoadAddsUpToForwardedTokens() {
        QSignalSpy snaps(client_.get(), &EngineClient::telemetry);
        client_->startTelemetry(50);
        QTRY_VERIFY_WITH_TIMEOUT(snaps.size() >= 2, 10'000);
        const QJsonObject before = snaps.last().first().toJsonObject();
        QSignalSpy finished(client_.get(), &EngineClient::finished);
        const quint64 id = client_->startChat(chat_body("A fresh prompt nobody sent before", 10, {{"ignore_eos", true}}));
        const auto r = wait_finished(finished, id);
        QVERIFY(r.has_value());
        const int cached = r->raw_final.value("usage").toObject().value("prompt_tokens_details").toObject()
                               .value("cached_tokens").toInt();
        const qint64 forwarded = r->prompt_tokens - cached + r->completion_tokens - 1;
        const qsizetype seen = snaps.size();
        QTRY_VERIFY_WITH_TIMEOUT(snaps.size() >= seen + 2, 10'000);  // a snapshot taken after the reply
        const QJsonObject after = snaps.last().first().toJsonObject();
        client_->stopTelemetry();
        const int top_k = after.value("routing").toObject().value("top_k").toInt();
        QCOMPARE(top_k, config_.value("num_experts_per_tok").toInt());
        const QJsonArray la = after.value("routing").toObject().value("layers").toArray();
        const QJsonArray lb = before.value("routing").toObject().value("layers").toArray();
        QCOMPARE(la.size(), lb.size());
        int main_layers = 0;
        for (int i = 0; i < la.size(); ++i) {
            const QJsonObject a = la[i].toObject(), b = lb[i].toObject();
            QCOMPARE(sum(a.value("expert_load").toArray()), a.value("routed_tokens").toInteger() * top_k);
            if (a.value("mtp").toBool()) continue;
            ++main_layers;
            QCOMPARE(a.value("routed_tokens").toInteger() - b.value("routed_tokens").toInteger(), forwarded);
        }
        QCOMPARE(main_layers, (int)model_.value("moe_layers").toArray().size());
        QVERIFY(after.value("memory").toObject().value("gpu_used_bytes").isNull());  // CPU backend
        QVERIFY(after.value("memory").toObject().value("rss_bytes").toInteger() > 0);
    }

    // A refused stream (503 too_many_streams) is reported once and retried with backoff until it works.
    void telemetryReconnectsWhenASlotFrees() {
        EngineClient first, second;
        first.setEndpoint(engine_->endpoint());
        second.setEndpoint(engine_->endpoint());
        QSignalSpy first_snaps(&first, &EngineClient::telemetry);
        QSignalSpy second_snaps(&second, &EngineClient::telemetry);
        QSignalSpy second_failed(&second, &EngineClient::requestFailed);
        first.startTelemetry(50);
        QVERIFY(first_snaps.wait(10'000));
        second.startTelemetry(50);
        QTRY_VERIFY_WITH_TIMEOUT(!second_failed.isEmpty(), 10'000);
        const QString msg = second_failed.first()[1].toString();
        QVERIFY2(msg.contains("503") && msg.contains("too_many_streams"), qPrintable(msg));
        QTest::qWait(1'200);  // several retries, all refused
        QCOMPARE(second_failed.size(), 1);  // the same failure is not repeated
        QVERIFY(second_snaps.isEmpty());
        first.stopTelemetry();
        QTRY_VERIFY_WITH_TIMEOUT(!second_snaps.isEmpty(), 15'000);
        second.stopTelemetry();
        QTest::qWait(200);  // let the server see the slot free before the next test subscribes
    }

    void unreachableServerIsReported() {
        QTcpServer closed;  // a port that was free a moment ago and is closed now
        QVERIFY(closed.listen(QHostAddress::LocalHost));
        const quint16 port = closed.serverPort();
        closed.close();
        EngineClient c;
        c.setEndpoint(EngineEndpoint{QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)), {}});
        QSignalSpy state(&c, &EngineClient::connectionStateChanged);
        QSignalSpy failed(&c, &EngineClient::requestFailed);
        c.refreshHealth();
        QVERIFY(state.wait(10'000));
        QCOMPARE(state.first().first().toBool(), false);
        QTRY_VERIFY(!failed.isEmpty());
        QVERIFY2(failed.first()[1].toString().contains("cannot reach"), qPrintable(failed.first()[1].toString()));
        // The same client pointed at the engine becomes reachable.
        c.setEndpoint(engine_->endpoint());
        c.refreshHealth();
        QTRY_COMPARE_WITH_TIMEOUT(state.size(), 2, 10'000);
        QCOMPARE(state.last().first().toBool(), true);
    }

    void loadModelReportsStagesThenTheModel() {
        QSignalSpy progress(client_.get(), &EngineClient::modelLoadProgress);
        QSignalSpy loaded(client_.get(), &EngineClient::modelLoaded);
        QSignalSpy models(client_.get(), &EngineClient::modelsChanged);
        client_->loadModel(model_.value("root").toString(), QStringLiteral("cpu"));
        QVERIFY(loaded.wait(60'000));
        QStringList stages;
        for (const auto& args : progress) stages << args[0].toString();
        QCOMPARE(stages, (QStringList{"checkpoint", "backend", "weights", "tokenizer", "ready"}));
        QCOMPARE(loaded.first().first().toJsonObject().value("num_layers").toInt(),
                 config_.value("num_hidden_layers").toInt());
        QVERIFY(models.wait(10'000));  // the model list is refreshed after a load
        QTRY_COMPARE_WITH_TIMEOUT(client_->activeRequests(), 0, 5'000);  // the load stream closes after its last event
    }

    void loadModelErrorIsReadable() {
        QSignalSpy failed(client_.get(), &EngineClient::requestFailed);
        QSignalSpy loaded(client_.get(), &EngineClient::modelLoaded);
        client_->loadModel(QStringLiteral("/nonexistent/moe-model"));
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 10'000);
        QCOMPARE(failed.first()[0].toULongLong(), quint64(0));
        const QString msg = failed.first()[1].toString();
        QVERIFY2(msg.contains("/nonexistent/moe-model") && msg.contains("/workbench/v1/models/load"), qPrintable(msg));
        QVERIFY(loaded.isEmpty());
    }

    void cleanupTestCase() {
        client_.reset();
        QSignalSpy stopped(engine_.get(), &EngineProcess::stopped);
        engine_->stop();
        QVERIFY(stopped.wait(10'000));
    }
};

QTEST_GUILESS_MAIN(EngineClientTest)
#include "engine_client_test.moc"
