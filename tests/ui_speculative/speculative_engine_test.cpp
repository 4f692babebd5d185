// Issue #13 item 4 against a real `moe-engine serve --demo` on the CPU (the demo model has one MTP
// module): the chat's "Speculative decoding (MTP)" toggle makes the engine decode speculatively, the
// reply's drafted tokens are tinted, the MTP acceptance view fills (one acceptance line with points,
// the mean accepted length, the speed-up once a plain reply ran too) and the status bar shows the
// acceptance from the telemetry stream. A real checkpoint without MTP modules (qwen2-tiny) gets the
// sentence on how to add one, and the toggle says why it is off.
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QJsonArray>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

#include "bar_chart_widget.h"
#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_store.h"
#include "conversation_view.h"
#include "demo_engine_fixture.h"
#include "engine_status_bar.h"
#include "message_widget.h"
#include "mtp_panel.h"
#include "sampling_controls.h"
#include "time_series_widget.h"
#include "token_markup.h"

using namespace moe::ui;

namespace {

constexpr int kReplyTimeoutMs = 60'000;

}  // namespace

class SpeculativeEngineTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);  // the sampling controls' QSettings stay out of $HOME
        QString error;
        QVERIFY2(engine_.start(0, &error), qPrintable(error));
        QCOMPARE(engine_.model().value(QStringLiteral("mtp_modules")).toInt(), 1);
    }

    void speculativeChatReplyFillsTheViewAndStatusBar() {
        EngineClient& client = engine_.client();
        MtpPanel mtp(&client);
        mtp.resize(600, 600);
        mtp.show();
        QStatusBar bar;
        EngineStatusBar status(&client, &bar);
        client.startTelemetry(100);
        QTemporaryDir dir;
        ConversationStore store(dir.filePath(QStringLiteral("conversations.sqlite")));
        ChatPanel chat(&client, &store);
        chat.resize(1000, 700);
        chat.show();
        client.refreshModels();

        // The toggle becomes available for a model with an MTP module.
        auto* toggle = chat.sampling()->findChild<QCheckBox*>(QStringLiteral("samplingSpeculative"));
        QVERIFY(toggle);
        QTRY_VERIFY_WITH_TIMEOUT(toggle->isEnabled(), 10'000);
        QTRY_VERIFY_WITH_TIMEOUT(mtp.summary().has_value(), 10'000);  // filled on open, before any reply
        QVERIFY(mtp.acceptanceChart()->emptyMessage().contains(QStringLiteral("No speculative reply yet")));
        toggle->setChecked(true);
        chat.sampling()->findChild<QDoubleSpinBox*>(QStringLiteral("samplingTemperature"))->setValue(0.0);
        chat.sampling()->setMaxTokens(40);

        chat.sendMessage(QStringLiteral("def fibonacci(n):"));
        QVERIFY(QTest::qWaitFor([&] { return !chat.session()->isBusy(); }, kReplyTimeoutMs));
        const ChatMessage& reply = chat.session()->messages().last();
        QVERIFY2(reply.error.isEmpty(), qPrintable(reply.error));
        QVERIFY(!reply.tokens.isEmpty());
        // The engine decoded it speculatively (it does so only when the request says "speculative": true).
        const int drafted = draftedTokenCount(reply.tokens);
        QVERIFY2(drafted > 0, "the demo model's MTP module should get some drafts kept");
        QVERIFY(drafted < reply.tokens.size());  // every step adds the model's own token
        MessageWidget* widget = chat.view()->messageWidget(1);
        QVERIFY(widget->statsText().contains(QStringLiteral("%1 drafted ahead and kept").arg(drafted)));
        widget->showTokens(true);

        // The view fills after the reply: one line (one MTP module drafts one token a step) with a point.
        QTRY_VERIFY_WITH_TIMEOUT(mtp.summary() && !mtp.summary()->history.isEmpty(), 10'000);
        QCOMPARE(mtp.acceptanceChart()->seriesCount(), 1);
        QTRY_VERIFY(mtp.acceptanceChart()->pointCount(0) >= 1);
        const double rate = mtp.acceptanceChart()->ys(0).last();
        QVERIFY2(rate > 0 && rate <= 100, qPrintable(QString::number(rate)));
        QVERIFY2(mtp.meanLengthText().contains(QStringLiteral("tokens per verification step (at most 2 with 1 draft")),
                 qPrintable(mtp.meanLengthText()));
        QVERIFY2(mtp.speedText().contains(QStringLiteral("Speed-up: not known yet")), qPrintable(mtp.speedText()));
        QVERIFY(mtp.statusText().contains(QStringLiteral("has 1 MTP module to draft with")));

        // The status bar: the last reply's acceptance, from the telemetry stream.
        QTRY_VERIFY_WITH_TIMEOUT(status.speculationText().startsWith(QStringLiteral("MTP, last reply: 1st draft kept")),
                                 10'000);
        QVERIFY2(status.speculationText().contains(QStringLiteral("tokens per step")) &&
                     status.speculationText().endsWith(QStringLiteral("tokens/s")),
                 qPrintable(status.speculationText()));

        // A plain reply too: now the speed-up is measured.
        toggle->setChecked(false);
        chat.sendMessage(QStringLiteral("The weather today"));
        QVERIFY(QTest::qWaitFor([&] { return !chat.session()->isBusy(); }, kReplyTimeoutMs));
        QCOMPARE(draftedTokenCount(chat.session()->messages().last().tokens), 0);
        QTRY_VERIFY_WITH_TIMEOUT(mtp.summary() && mtp.summary()->speedup.has_value(), 10'000);
        QVERIFY2(mtp.speedText().contains(QStringLiteral("Speed-up: ")) && mtp.speedText().contains(QStringLiteral("×")),
                 qPrintable(mtp.speedText()));
        client.stopTelemetry();
    }

    void requestsNamingADomainGetBars() {
        EngineClient& client = engine_.client();
        MtpPanel mtp(&client);
        mtp.show();
        client.refreshModels();
        QSignalSpy finished(&client, &EngineClient::finished);
        client.startCompletion(QJsonObject{{"prompt", "int main(void) {"}, {"max_tokens", 16}, {"temperature", 0},
                                           {"speculative", true}, {"domain", "code"}});
        QVERIFY(finished.wait(kReplyTimeoutMs));
        QTRY_VERIFY_WITH_TIMEOUT(mtp.domainChart()->categoryNames().contains(QStringLiteral("code")), 10'000);
        QVERIFY(mtp.domainChart()->emptyMessage().isEmpty());
    }

    // A real checkpoint without MTP modules: the view says so and how to add one, the toggle is off
    // with the reason, and a request that asks anyway decodes plainly with the engine's reason.
    void modelWithoutMtpModulesSaysHowToAddOne() {
        test::DemoEngineFixture plain;
        EngineProcessOptions options = test::demo_engine_options(0);
        options.model_dir = QStringLiteral(MOE_TEST_DATA_DIR "/models/qwen2-tiny");
        QString error;
        QVERIFY2(plain.start(options, &error), qPrintable(error));
        QCOMPARE(plain.model().value(QStringLiteral("mtp_modules")).toInt(), 0);
        EngineClient& client = plain.client();
        MtpPanel mtp(&client);
        mtp.show();
        QTemporaryDir dir;
        ConversationStore store(dir.filePath(QStringLiteral("conversations.sqlite")));
        ChatPanel chat(&client, &store);
        client.refreshModels();
        QTRY_VERIFY_WITH_TIMEOUT(mtp.statusText().contains(QStringLiteral("has no MTP modules")), 10'000);
        QVERIFY(mtp.statusText().contains(QStringLiteral("--method mtp-head")));
        QVERIFY(mtp.acceptanceChart()->isHidden());
        auto* toggle = chat.sampling()->findChild<QCheckBox*>(QStringLiteral("samplingSpeculative"));
        QTRY_VERIFY(!toggle->isEnabled() && toggle->toolTip().contains(QStringLiteral("no MTP modules")));

        QSignalSpy finished(&client, &EngineClient::finished);
        QSignalSpy failed(&client, &EngineClient::requestFailed);
        // (No return_routed_experts: qwen2-tiny is dense, the engine refuses to report routing for it.)
        client.startCompletion(QJsonObject{{"prompt", "Hello"}, {"max_tokens", 8}, {"speculative", true}});
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kReplyTimeoutMs);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        const auto result = finished.last().at(1).value<CompletionResult>();
        const QJsonObject speculative =
            result.raw_final.value(QStringLiteral("workbench")).toObject().value(QStringLiteral("speculative")).toObject();
        QCOMPARE(speculative.value(QStringLiteral("enabled")).toBool(true), false);
        QVERIFY(!speculative.value(QStringLiteral("reason")).toString().isEmpty());
        QTest::qWait(3 * MtpPanel::kPollIntervalMs);
        QVERIFY(mtp.statusText().contains(QStringLiteral("has no MTP modules")));
    }

private:
    test::DemoEngineFixture engine_;
};

QTEST_MAIN(SpeculativeEngineTest)
#include "speculative_engine_test.moc"
