// The window against a real `moe-engine serve --demo` on the CPU, through a model switch (issue #14
// items 4, 5 and 10): before it, the per-domain, specialisation and token views hold the demo
// model's results and say nothing; after loading tests/data/models/deepseek-v3-tiny each says its
// results belong to demo-trained and names the model loaded now, the live view follows the new
// model, the reply length limit follows the new context, and the model is what the next launch opens.
#include <QDockWidget>
#include <QJsonArray>
#include <QLabel>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "about_dialog.h"
#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_view.h"
#include "demo_engine_fixture.h"
#include "domain_panel.h"
#include "engine_client.h"
#include "heatmap_widget.h"
#include "live_heatmap_panel.h"
#include "main_window.h"
#include "message_widget.h"
#include "recent_models.h"
#include "sampling_controls.h"
#include "specialisation_panel.h"
#include "token_explorer_panel.h"

using namespace moe::ui;

namespace {
constexpr int kTimeoutMs = 120'000;  // a per-domain run on a busy 2-core machine
const char* const kDemo = "demo-trained";

QString writeText(const QTemporaryDir& dir, const QString& name, const QString& text) {
    const QString path = dir.filePath(name);
    QFile file(path);
    if (file.open(QIODevice::WriteOnly)) file.write(text.toUtf8());
    return path;
}

QString modelId(const QJsonArray& models) {
    return models.isEmpty() ? QString() : models.first().toObject().value(QStringLiteral("id")).toString();
}
}  // namespace

class WindowEngineTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        qputenv("XDG_CONFIG_HOME", config_.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
    }
    void aModelSwitchMarksEveryViewThatHoldsTheOldModel();

private:
    QTemporaryDir config_;
};

void WindowEngineTest::aModelSwitchMarksEveryViewThatHoldsTheOldModel() {
    QTemporaryDir dir;
    RecentModels::clear();
    MainWindow window(dir.filePath(QStringLiteral("c.sqlite")));
    window.finishLayout();
    QSignalSpy models(window.client(), &EngineClient::modelsChanged);
    window.useManagedEngine(test::demo_engine_options(0));  // --ctx 1024
    window.show();
    QTRY_VERIFY_WITH_TIMEOUT(!models.isEmpty() && modelId(models.last().first().toJsonArray()) == QLatin1String(kDemo),
                             kTimeoutMs);

    // Item 5: the reply length follows the model's context (1024 tokens here).
    SamplingControls* sampling = window.chatPanel()->sampling();
    QCOMPARE(sampling->maxTokensLimit(), 1024);
    sampling->setMaxTokens(5000);
    QCOMPARE(sampling->maxTokens(), 1024);
    QCOMPARE(sampling->requestOptions().value(QStringLiteral("max_tokens")).toInt(), 1024);

    // A reply of the demo model, one of its tokens in the explorer.
    sampling->setMaxTokens(8);
    sampling->setSeed(3);
    sampling->setRecordRouting(true);
    ChatSession* session = window.chatPanel()->session();
    window.chatPanel()->sendMessage(QStringLiteral("Write a haiku about routers"));
    QTRY_VERIFY_WITH_TIMEOUT(!session->isBusy() && session->messages().size() == 2, kTimeoutMs);
    QVERIFY2(session->messages().last().error.isEmpty(), qPrintable(session->messages().last().error));
    window.chatPanel()->view()->messageWidget(1)->activateToken(1);
    auto* explorer = window.findChild<TokenExplorerPanel*>();
    QCOMPARE(explorer->tokenIndex(), 1);
    QVERIFY(explorer->heading().contains(QLatin1String(kDemo)));
    QCOMPARE(explorer->staleText(), QString());

    // Two small domains through the demo model.
    auto* domains = window.findChild<DomainPanel*>();
    for (const QString& name : domains->checkedDomains()) domains->setDomainChecked(name, false);
    QString error;
    QVERIFY2(domains->addFile(writeText(dir, QStringLiteral("alpha.txt"),
                                        QStringLiteral("The harbour master rowed out at low water and saw the sandbar "
                                                       "for himself, a long grey back under the surface.")),
                              QStringLiteral("alpha"), &error),
             qPrintable(error));
    QVERIFY2(domains->addFile(writeText(dir, QStringLiteral("beta.txt"),
                                        QStringLiteral("for (int i = 0; i < n; ++i) { total += values[i] * weights[i]; } "
                                                       "return total / n;")),
                              QStringLiteral("beta"), &error),
             qPrintable(error));
    domains->setTokensPerChunk(32);
    QSignalSpy finished(domains->run(), &DomainRun::finished);
    QVERIFY(domains->startRun());
    QVERIFY(finished.wait(kTimeoutMs));
    QVERIFY2(finished.first().first().toBool(), qPrintable(finished.first().at(1).toString()));
    QCOMPARE(domains->run()->resultsModel(), QString::fromLatin1(kDemo));
    QCOMPARE(domains->staleText(), QString());
    QVERIFY2(domains->summary().contains(QLatin1String(kDemo)), qPrintable(domains->summary()));
    auto* special = window.findChild<SpecialisationPanel*>();
    QCOMPARE(special->staleText(), QString());
    QVERIFY(!special->matrix().domains.isEmpty());

    // Load another model into the same engine.
    const QString tiny = QDir(QStringLiteral(MOE_TEST_DATA_DIR "/models/deepseek-v3-tiny")).canonicalPath();
    window.loadModel(tiny);
    QTRY_VERIFY_WITH_TIMEOUT(modelId(models.last().first().toJsonArray()) == QLatin1String("deepseek-v3-tiny"), kTimeoutMs);
    const QJsonObject loaded = models.last().first().toJsonArray().first().toObject();

    // Item 4: every view that holds the demo's results says so and names the loaded model.
    for (const QString& stale : {domains->staleText(), special->staleText(), explorer->staleText()}) {
        QVERIFY2(stale.contains(QLatin1String(kDemo)) && stale.contains(QStringLiteral("deepseek-v3-tiny")), qPrintable(stale));
    }
    QVERIFY(!window.findChild<QLabel*>(QStringLiteral("routing.domains.stale"))->isHidden());
    QVERIFY(!window.findChild<QLabel*>(QStringLiteral("routing.specialisation.stale"))->isHidden());
    QVERIFY(!window.findChild<QLabel*>(QStringLiteral("routing.tokens.stale"))->isHidden());
    // The live view follows the new model's telemetry.
    auto* live = window.findChild<LiveHeatmapPanel*>();
    QTRY_VERIFY_WITH_TIMEOUT(live->summary().startsWith(QStringLiteral("deepseek-v3-tiny")), kTimeoutMs);
    QCOMPARE(live->heatmap()->data().cols, loaded.value(QStringLiteral("n_routed_experts")).toInt());

    // Item 5 again: the limit is the new model's context; the user's 8 stays.
    const int context = loaded.value(QStringLiteral("max_context")).toInt();
    QVERIFY(context > 0);
    QCOMPARE(sampling->maxTokensLimit(), std::min(context, SamplingControls::kDefaultMaxTokensCeiling));
    QCOMPARE(sampling->maxTokens(), 8);

    // Item 10: the next launch opens this model, and About says what runs.
    QCOMPARE(RecentModels::list().value(0), tiny);
    QCOMPARE(MainWindow::startupModel(), tiny);
    QVERIFY(window.aboutText().contains(QStringLiteral("deepseek-v3-tiny")));
    QVERIFY(window.aboutText().contains(QStringLiteral("none in use (the model runs on the CPU)")));
}

QTEST_MAIN(WindowEngineTest)
#include "window_engine_test.moc"
