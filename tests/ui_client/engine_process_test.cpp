// EngineProcess: starts `moe-engine serve --demo` with a random token, notices a crash (SIGKILL, or
// the exit of an engine whose GPU context is lost), restarts it and serves again; stops cleanly;
// gives up on an engine that cannot start.
#include <QJsonArray>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>

#include "demo_engine.h"

using namespace moe::ui;
using namespace moe::ui::test;

namespace {

// One chat through `endpoint`; true when it finished with text-producing tokens.
bool chat_works(const EngineEndpoint& endpoint) {
    EngineClient c;
    c.setEndpoint(endpoint);
    QSignalSpy finished(&c, &EngineClient::finished);
    QSignalSpy failed(&c, &EngineClient::requestFailed);
    c.startChat(chat_body("Are you back?", 8, {{"ignore_eos", true}}));
    (void)QTest::qWaitFor([&] { return !finished.isEmpty() || !failed.isEmpty(); }, 60'000);
    if (finished.isEmpty()) {
        qInfo("chat failed: %s", failed.isEmpty() ? "timeout" : qPrintable(failed.first()[1].toString()));
        return false;
    }
    return finished.first()[1].value<CompletionResult>().completion_tokens == 8;
}

}  // namespace

class EngineProcessTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { prepare_environment(); }

    void locatesTheEngineFromTheEnvironment() {
        QCOMPARE(EngineProcess::locateEngineBinary(), QStringLiteral(MOE_ENGINE_BIN));
    }

    void startsWithARandomTokenAndServes() {
        auto engine = start_demo_engine();
        QVERIFY(engine);
        const EngineEndpoint ep = engine->endpoint();
        QCOMPARE(ep.base.host(), QStringLiteral("127.0.0.1"));
        QVERIFY(ep.base.port() > 0);
        QCOMPARE(ep.api_key.size(), 64);  // 32 random bytes, hex
        auto other = start_demo_engine();
        QVERIFY(other);
        QVERIFY(other->endpoint().api_key != ep.api_key);
        QVERIFY(chat_works(ep));
        // Without the token the engine refuses (the key really is required).
        QVERIFY(!chat_works(EngineEndpoint{ep.base, {}}));
        QVERIFY(engine->recentLog().join('\n').contains("serving 'demo-trained'"));
    }

    void restartsAfterACrash() {
        auto engine = start_demo_engine();
        QVERIFY(engine);
        QSignalSpy crashed(engine.get(), &EngineProcess::crashed);
        QSignalSpy restarting(engine.get(), &EngineProcess::restarting);
        QSignalSpy ready(engine.get(), &EngineProcess::ready);
        const qint64 old_pid = engine->pid();
        const EngineEndpoint old_ep = engine->endpoint();
        // A reply streaming when the engine dies ends in an error, not in a wait forever.
        EngineClient client;
        client.setEndpoint(old_ep);
        QSignalSpy deltas(&client, &EngineClient::delta);
        QSignalSpy failed(&client, &EngineClient::requestFailed);
        QSignalSpy finished(&client, &EngineClient::finished);
        const quint64 id = client.startChat(chat_body("Keep talking", 2000, {{"ignore_eos", true}}));
        QTRY_VERIFY_WITH_TIMEOUT(!deltas.isEmpty(), 30'000);
        QVERIFY(::kill(pid_t(old_pid), SIGKILL) == 0);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 10'000);
        QCOMPARE(failed.first()[0].toULongLong(), id);
        QVERIFY2(failed.first()[1].toString().contains("/v1/chat/completions"), qPrintable(failed.first()[1].toString()));
        QVERIFY(finished.isEmpty());
        QCOMPARE(client.activeRequests(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!crashed.isEmpty(), 10'000);
        QVERIFY2(crashed.first()[0].toString().contains("crashed"), qPrintable(crashed.first()[0].toString()));
        QVERIFY(!crashed.first()[1].toString().isEmpty());  // the last log lines come along
        QCOMPARE(restarting.size(), 1);
        QCOMPARE(restarting.first().first().toInt(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty(), 60'000);
        QVERIFY(engine->pid() != old_pid);
        QVERIFY(engine->endpoint().api_key != old_ep.api_key);
        QVERIFY(chat_works(engine->endpoint()));
    }

    // An engine whose GPU context is lost exits with status 3 by itself (serve's test switch reports
    // the loss without a GPU): named as such, restarted, ready again.
    void restartsAfterALostGpuContext() {
        EngineProcessOptions o = demo_options({"--test-device-fault-after-ms", "1500"});
        o.max_restarts_per_minute = 10;
        auto engine = start_engine(o);
        QVERIFY(engine);
        QSignalSpy crashed(engine.get(), &EngineProcess::crashed);
        QSignalSpy ready(engine.get(), &EngineProcess::ready);
        QVERIFY(crashed.wait(20'000));
        QVERIFY2(crashed.first()[0].toString().contains("lost its GPU context"), qPrintable(crashed.first()[0].toString()));
        QVERIFY2(crashed.first()[1].toString().contains("the GPU context is lost"), qPrintable(crashed.first()[1].toString()));
        QVERIFY(ready.wait(60'000));
    }

    // A stopped (SIGSTOP) engine keeps its process but answers nothing: /health polling notices,
    // kills it and starts a new one.
    void killsAndRestartsAHungEngine() {
        EngineProcessOptions o = demo_options();
        o.health_interval_ms = 300;
        auto engine = start_engine(o);
        QVERIFY(engine);
        QSignalSpy ready(engine.get(), &EngineProcess::ready);
        QSignalSpy crashed(engine.get(), &EngineProcess::crashed);
        QVERIFY(::kill(pid_t(engine->pid()), SIGSTOP) == 0);
        QVERIFY(crashed.wait(15'000));
        QVERIFY2(crashed.first()[0].toString().contains("/health"), qPrintable(crashed.first()[0].toString()));
        QVERIFY(ready.wait(60'000));
        QVERIFY(chat_works(engine->endpoint()));
    }

    void givesUpAfterTooManyCrashes() {
        EngineProcessOptions o = demo_options();
        o.max_restarts_per_minute = 1;
        auto engine = start_engine(o);
        QVERIFY(engine);
        QSignalSpy ready(engine.get(), &EngineProcess::ready);
        QSignalSpy gave_up(engine.get(), &EngineProcess::gaveUp);
        QSignalSpy restarting(engine.get(), &EngineProcess::restarting);
        QVERIFY(::kill(pid_t(engine->pid()), SIGKILL) == 0);
        QVERIFY(ready.wait(60'000));  // restart 1 of 1
        QVERIFY(::kill(pid_t(engine->pid()), SIGKILL) == 0);
        QVERIFY(gave_up.wait(10'000));
        QCOMPARE(restarting.size(), 1);
        QVERIFY2(gave_up.first().first().toString().contains("within a minute"),
                 qPrintable(gave_up.first().first().toString()));
        QVERIFY(!engine->isRunning());
    }

    void stopEndsTheProcess() {
        auto engine = start_demo_engine();
        QVERIFY(engine);
        QSignalSpy stopped(engine.get(), &EngineProcess::stopped);
        QSignalSpy crashed(engine.get(), &EngineProcess::crashed);
        // An idle keep-alive connection (a chat, then the /health poll) must not hold the stop up.
        QVERIFY(chat_works(engine->endpoint()));
        QTest::qWait(2'500);
        QElapsedTimer t;
        t.start();
        engine->stop();
        QVERIFY(stopped.wait(10'000));
        qInfo("stopped in %lld ms", t.elapsed());
        QVERIFY2(t.elapsed() < 2'500, "SIGTERM should end the engine within the server's 1 s keep-alive wait");
        QVERIFY(!engine->isRunning());
        QVERIFY(crashed.isEmpty());
        QVERIFY(engine->recentLog().join('\n').contains("SIGTERM received"));
    }

    void givesUpOnAModelThatCannotLoad() {
        QTemporaryDir empty;
        EngineProcess engine;
        EngineProcessOptions o;
        o.model_dir = empty.path();
        o.backend = QStringLiteral("cpu");
        engine.setOptions(o);
        QSignalSpy gave_up(&engine, &EngineProcess::gaveUp);
        QSignalSpy restarting(&engine, &EngineProcess::restarting);
        engine.start();
        QVERIFY(gave_up.wait(30'000));
        const QString why = gave_up.first().first().toString();
        QVERIFY2(why.contains("before it was ready") && why.contains("checkpoint.no_weights"), qPrintable(why));
        QVERIFY(restarting.isEmpty());  // starting the same broken model again would not help
    }
};

QTEST_GUILESS_MAIN(EngineProcessTest)
#include "engine_process_test.moc"
