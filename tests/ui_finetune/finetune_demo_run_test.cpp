// The first launch's Fine-tune panel: a real `moe-engine serve --demo` with an empty runs folder puts
// the demo model's own training run there (engine/demo), and a panel opened on it shows that run —
// finished, with its loss curves, per-domain evaluation from step 0 (random initialisation) to the
// end, MaxVio of every MoE layer and the expert load per domain before and after. Once the user has
// a run of their own, the panel no longer opens the demo's by itself.
#include <QDir>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

#include "demo_engine_fixture.h"
#include "finetune_panel.h"
#include "open_panel.h"
#include "heatmap_widget.h"
#include "run_charts.h"
#include "run_progress_view.h"
#include "time_series_widget.h"

using namespace moe::ui;
using namespace moe::ui::finetune;
using moe::ui::test::demo_engine_options;
using moe::ui::test::DemoEngineFixture;

namespace {
constexpr const char* kDemoRun = "demo-model-training";
}

class FinetuneDemoRunTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void theDemoTrainingRunOpensOnFirstLaunch();
    void aRunOfTheUsersOwnComesFirst();

private:
    std::unique_ptr<FinetunePanel> openPanel();

    QTemporaryDir home_;  // settings and the runs folder
    DemoEngineFixture engine_;
};

void FinetuneDemoRunTest::initTestCase() {
    QVERIFY(home_.isValid());
    QCoreApplication::setOrganizationName(QStringLiteral("moe-workbench-test-finetune-demo-run"));
    qputenv("XDG_CONFIG_HOME", home_.filePath("config").toUtf8());
    qputenv("XDG_CACHE_HOME", home_.filePath("cache").toUtf8());
    EngineProcessOptions o = demo_engine_options(0);
    o.model_dir.clear();  // serve --demo, whatever MOE_TEST_ENGINE_MODEL says
    o.extra_args << QStringLiteral("--runs-dir") << home_.filePath("runs");
    QString error;
    QVERIFY2(engine_.start(o, &error), qPrintable(error));
    QCOMPARE(engine_.model().value("id").toString(), QStringLiteral("demo-trained"));
}

std::unique_ptr<FinetunePanel> FinetuneDemoRunTest::openPanel() { return moe::ui::test::open_finetune_panel(engine_.client()); }

void FinetuneDemoRunTest::theDemoTrainingRunOpensOnFirstLaunch() {
    QVERIFY(QFile::exists(home_.filePath(QStringLiteral("runs/%1/history.jsonl").arg(kDemoRun))));
    std::unique_ptr<FinetunePanel> panel = openPanel();
    QCOMPARE(panel->watchedRun(), QString::fromLatin1(kDemoRun));
    QTRY_COMPARE_WITH_TIMEOUT(panel->progress()->state(), QStringLiteral("done"), 10'000);
    // Trained from scratch, ended by its 2-minute limit: the panel says both, not "fine-tune of ." / "step 0".
    const QString said = panel->progress()->stateLabel()->text();
    QVERIFY2(said.contains("time limit") && said.contains("2 minutes"), qPrintable(said));
    QVERIFY2(!said.contains("step 0 "), qPrintable(said));
    const TrainHistory& h = panel->history();
    QTRY_VERIFY_WITH_TIMEOUT(h.evals().size() >= 2, 10'000);
    QCOMPARE(h.evals().first().step, 0);  // the random initialisation: "before"
    QVERIFY2(h.steps().size() > 100, qPrintable(QString::number(h.steps().size())));
    QCOMPARE(h.domains().size(), 5);  // chinese, code, dialogue, english, math
    // It learnt: the held-out loss of every domain fell from its step-0 value.
    for (const QString& d : h.domains())
        QVERIFY2(h.evals().last().domains.value(d).loss < h.evals().first().domains.value(d).loss - 2.0, qPrintable(d));

    RunCharts* charts = panel->progress()->charts();
    QCOMPARE(charts->lossPlot()->pointCount(0), int(h.steps().size()));
    QCOMPARE(charts->evalPlot()->seriesCount(), 5);
    const moe::viz::HeatmapData vio = charts->maxVioHeatmap()->data();
    QCOMPARE(vio.rows, 6);  // MoE layers 1-5 and the MTP module
    QCOMPARE(vio.cols, int(h.steps().size()));
    QCOMPARE(charts->biasDriftHeatmap()->data().cols, 32);
    QCOMPARE(charts->loadBefore()->data().cols, 32);
    QCOMPARE(charts->loadAfter()->data().cols, 32);
}

void FinetuneDemoRunTest::aRunOfTheUsersOwnComesFirst() {
    // A finished run of the user's (its folder as the server writes one) — newest first, the demo's last,
    // and a panel opened now shows the new-run form instead of the demo's curves.
    QDir runs(home_.filePath("runs"));
    QVERIFY(runs.mkpath("20261206-010203-lora-abcd"));
    QFile::copy(runs.filePath(QStringLiteral("%1/request.json").arg(kDemoRun)),
                runs.filePath("20261206-010203-lora-abcd/request.json"));
    std::unique_ptr<FinetunePanel> panel = openPanel();
    QVERIFY(panel->watchedRun().isEmpty());
    QJsonArray listed;
    engine_.client().sendJson("GET", "/workbench/v1/train", {}, this,
                              [&](const EngineClient::JsonReply& r) { listed = r.body.value("data").toArray(); });
    QTRY_COMPARE_WITH_TIMEOUT(listed.size(), 2, 10'000);
    QCOMPARE(listed.first().toObject().value("id").toString(), QStringLiteral("20261206-010203-lora-abcd"));
    QCOMPARE(listed.last().toObject().value("id").toString(), QString::fromLatin1(kDemoRun));
}

QTEST_MAIN(FinetuneDemoRunTest)
#include "finetune_demo_run_test.moc"
