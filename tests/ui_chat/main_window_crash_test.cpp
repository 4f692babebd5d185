// The whole main window with a real `moe-engine serve --demo`: kill -9 the managed engine mid-reply
// (the banner says so, the conversation is kept with the reply marked interrupted, the engine comes
// back by itself and the next message works); the status bar; a server given by URL and key; the
// remembered and reset dock layout.
#include <QDockWidget>
#include <QJsonArray>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_view.h"
#include "engine_banner.h"
#include "engine_client.h"
#include "engine_connection.h"
#include "demo_engine_fixture.h"
#include "engine_status_bar.h"
#include "main_window.h"

using namespace moe::ui;

namespace {
constexpr int kTimeoutMs = 60'000;

QJsonObject requestOptions(int max_tokens) {
    return QJsonObject{{QStringLiteral("temperature"), 0.8}, {QStringLiteral("seed"), 5},
                       {QStringLiteral("max_tokens"), max_tokens}, {QStringLiteral("ignore_eos"), true},
                       {QStringLiteral("return_routed_experts"), true}};
}
}  // namespace

class MainWindowCrashTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void statusBarShowsTheEngine();
    void killedEngineIsRestartedAndTheConversationKept();
    void connectsToAServerByUrlAndKey();
    void layoutIsRememberedAndCanBeReset();

private:
    QTemporaryDir config_;
};

void MainWindowCrashTest::initTestCase() {
    // Saved layouts and sampling settings go to a scratch folder, never to the user's.
    qputenv("XDG_CONFIG_HOME", config_.path().toUtf8());
    QStandardPaths::setTestModeEnabled(true);
}

void MainWindowCrashTest::statusBarShowsTheEngine() {
    QTemporaryDir dir;
    MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
    window.finishLayout();
    QVERIFY(window.dock(QStringLiteral("chatDock")));
    QVERIFY(window.dock(QStringLiteral("engineLogDock")));
    QSignalSpy telemetry(window.client(), &EngineClient::telemetry);
    window.useManagedEngine(test::demo_engine_options(0));
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(window.engineStatus()->modelText().startsWith(QStringLiteral("model: ")), kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(telemetry.count() >= 1, kTimeoutMs);
    QVERIFY2(window.engineStatus()->backendText() == QStringLiteral("runs on: CPU"),
             qPrintable(window.engineStatus()->backendText()));
    QVERIFY2(window.engineStatus()->memoryText().contains(QStringLiteral("RAM")),
             qPrintable(window.engineStatus()->memoryText()));
    QVERIFY(window.engineStatus()->connectionText().contains(QStringLiteral("local engine")));
    QTRY_VERIFY(window.engineStatus()->connectionText().startsWith(QStringLiteral("●")));
}

void MainWindowCrashTest::killedEngineIsRestartedAndTheConversationKept() {
    QTemporaryDir dir;
    MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
    window.finishLayout();
    QSignalSpy models(window.client(), &EngineClient::modelsChanged);
    QSignalSpy ready(window.connection(), &EngineConnection::ready);
    window.useManagedEngine(test::demo_engine_options(30));  // 30 ms a token: time to kill it mid-reply
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(models.count() >= 1, kTimeoutMs);
    ChatSession* session = window.chatPanel()->session();
    session->setRequestOptions(requestOptions(300));

    QSignalSpy deltas(window.client(), &EngineClient::delta);
    window.chatPanel()->sendMessage(QStringLiteral("Write a haiku about routers"));
    QTRY_VERIFY_WITH_TIMEOUT(deltas.count() >= 3, kTimeoutMs);
    const qint64 pid = window.connection()->process()->pid();
    QVERIFY(pid > 0);
    QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);

    QTRY_VERIFY_WITH_TIMEOUT(!window.banner()->isHidden(), kTimeoutMs);
    QVERIFY2(window.banner()->text().contains(QStringLiteral("stopped")), qPrintable(window.banner()->text()));
    QTRY_VERIFY_WITH_TIMEOUT(!session->isBusy(), kTimeoutMs);
    QCOMPARE(session->messages().size(), 2);
    QCOMPARE(session->messages()[0].content, QStringLiteral("Write a haiku about routers"));
    const ChatMessage& interrupted = session->messages()[1];
    QCOMPARE(interrupted.finish_reason, QStringLiteral("interrupted"));
    QVERIFY2(interrupted.error.startsWith(QStringLiteral("Interrupted: the engine stopped")), qPrintable(interrupted.error));
    QVERIFY(!interrupted.content.isEmpty());  // what streamed before the crash is kept
    QCOMPARE(window.chatPanel()->view()->messageCount(), 2);

    // EngineProcess restarts it; after "ready" a new message works.
    const int models_before = int(models.count());
    QTRY_VERIFY_WITH_TIMEOUT(ready.count() >= 2, kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(models.count() > models_before, kTimeoutMs);
    QVERIFY(window.connection()->process()->pid() != pid);
    session->setRequestOptions(requestOptions(8));
    window.chatPanel()->sendMessage(QStringLiteral("Are you back?"));
    QTRY_VERIFY_WITH_TIMEOUT(!session->isBusy(), kTimeoutMs);
    QCOMPARE(session->messages().size(), 4);
    const ChatMessage& after = session->messages()[3];
    QVERIFY2(after.error.isEmpty(), qPrintable(after.error));
    QCOMPARE(after.completion_tokens, 8);
    QVERIFY(window.banner()->text().contains(QStringLiteral("running again")));
}

void MainWindowCrashTest::connectsToAServerByUrlAndKey() {
    test::DemoEngineFixture server;  // stands in for any OpenAI-compatible server with a key
    QString error;
    QVERIFY2(server.start(0, &error), qPrintable(error));
    QVERIFY(!server.process().endpoint().api_key.isEmpty());
    QTemporaryDir dir;
    MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
    window.finishLayout();
    QSignalSpy models(window.client(), &EngineClient::modelsChanged);
    window.useRemoteEngine(server.process().endpoint().base, server.process().endpoint().api_key);
    QTRY_VERIFY_WITH_TIMEOUT(models.count() >= 1, kTimeoutMs);
    QCOMPARE(window.connection()->mode(), EngineConnection::Mode::Remote);
    QVERIFY(!window.connection()->process()->isRunning());  // no local engine in this mode
    QVERIFY(window.engineStatus()->connectionText().contains(server.process().endpoint().base.toString()));
    ChatSession* session = window.chatPanel()->session();
    session->setRequestOptions(requestOptions(6));
    window.chatPanel()->sendMessage(QStringLiteral("Hello over the network"));
    QTRY_VERIFY_WITH_TIMEOUT(!session->isBusy(), kTimeoutMs);
    QVERIFY2(session->messages().last().error.isEmpty(), qPrintable(session->messages().last().error));
    QCOMPARE(session->messages().last().completion_tokens, 6);

    // A wrong key: the reply says what the server answered.
    window.useRemoteEngine(server.process().endpoint().base, QStringLiteral("wrong-key"));
    window.chatPanel()->sendMessage(QStringLiteral("Let me in"));
    QTRY_VERIFY_WITH_TIMEOUT(!session->isBusy(), kTimeoutMs);
    QVERIFY2(session->messages().last().error.contains(QStringLiteral("401")) ||
                 session->messages().last().error.contains(QStringLiteral("key")),
             qPrintable(session->messages().last().error));
}

void MainWindowCrashTest::layoutIsRememberedAndCanBeReset() {
    QTemporaryDir dir;
    {
        MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
        window.finishLayout();
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.dock(QStringLiteral("engineLogDock"))->hide();
        window.dock(QStringLiteral("chatDock"))->setFloating(true);
        window.close();  // saves geometry and dock state
    }
    MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
    window.finishLayout();
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(window.dock(QStringLiteral("engineLogDock"))->isHidden());
    QVERIFY(window.dock(QStringLiteral("chatDock"))->isFloating());
    window.resetLayout();
    QVERIFY(!window.dock(QStringLiteral("engineLogDock"))->isHidden());
    QVERIFY(!window.dock(QStringLiteral("chatDock"))->isFloating());
    QVERIFY(!window.dock(QStringLiteral("chatDock"))->isHidden());
    for (const QString& name : window.panelNames()) QVERIFY(!window.dock(name)->objectName().isEmpty());
}

QTEST_MAIN(MainWindowCrashTest)
#include "main_window_crash_test.moc"
