// The Fine-tune panel against a real `moe-engine serve` of the tiny DeepSeek-V3 fixture
// (tests/data/models/deepseek-v3-tiny) with its runs folder in a temporary directory, trained on
// tests/data/train_data/prose on the CPU:
//   - a short run end to end: the data report (or, from an engine without the planner, the panel
//     saying so), start, every curve and heatmap getting its points, the bias at step 0 being the
//     served checkpoint's, checkpoints listed, Export and chat with it loading the exported folder;
//   - a long run: Pause stops the steps, Resume continues them, a panel opened afresh (the window
//     closed and opened again) reattaches to the run and follows it live, Cancel ends it with a
//     checkpoint; the finished run reopens from its history.
#include <QComboBox>
#include <QDir>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTableWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <memory>

#include "bar_chart_widget.h"
#include "demo_engine_fixture.h"
#include "error_notice.h"
#include "finetune_panel.h"
#include "open_panel.h"
#include "heatmap_widget.h"
#include "plan_view.h"
#include "run_charts.h"
#include "run_progress_view.h"
#include "run_settings.h"
#include "run_setup_form.h"
#include "time_series_widget.h"

using namespace moe::ui;
using namespace moe::ui::finetune;
using moe::ui::test::demo_engine_options;
using moe::ui::test::DemoEngineFixture;

namespace {

constexpr int kRunTimeoutMs = 180'000;  // a busy 2-core CI machine

QString dataPath(const char* rel) { return QDir(QStringLiteral(MOE_TEST_DATA_DIR)).filePath(QString::fromLatin1(rel)); }

RunSettings tinyRun(const QString& model, int steps) {
    RunSettings s;
    s.model = model;
    s.data_paths = {dataPath("train_data/prose")};
    s.seq_len = 32;
    s.batch = 1;
    s.holdout = 0.5;  // one of the two documents: the held-out loss and expert load per domain
    s.lora_rank = 4;
    s.lora_alpha = 8;
    s.steps = steps;
    s.lr = 1e-2;
    s.warmup = 0;
    s.mtp_lambda = 0.3;  // the fixture has one MTP module: the MTP curve too
    s.eval_every = 2;
    s.checkpoint_every = 3;
    s.keep_checkpoints = 2;
    return s;
}

// The model folder of the last /v1/models answer a spy on modelsChanged caught.
QString lastRoot(const QSignalSpy& models) {
    if (models.isEmpty()) return {};
    return models.last().first().toJsonArray().first().toObject().value("root").toString();
}

// Whether the top of the data report shows in the setup page's scroll area.
bool planInView(FinetunePanel& panel) {
    QWidget* viewport = panel.setupScroll()->viewport();
    const QPoint top = panel.planView()->mapTo(viewport, QPoint(0, 0));
    return viewport->rect().contains(top);
}

// The progress view's state once the watcher has said it.
QString stateOf(FinetunePanel& panel) { return panel.progress()->state(); }

}  // namespace

class FinetuneEngineTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void aShortRunEndToEnd();
    void pauseResumeReattachCancel();
    void aFinishedRunReopensFromItsHistory();
    void cleanupTestCase();

private:
    // A panel as the window makes it: the engine lists its model, the panel lists the runs.
    std::unique_ptr<FinetunePanel> openPanel();

    QTemporaryDir home_;  // settings (QSettings) and the runs folder
    QString model_;
    DemoEngineFixture engine_;
    QString done_run_;
};

void FinetuneEngineTest::initTestCase() {
    QVERIFY(home_.isValid());
    QCoreApplication::setOrganizationName(QStringLiteral("moe-workbench-test-finetune-engine"));
    qputenv("XDG_CONFIG_HOME", home_.filePath("config").toUtf8());
    model_ = dataPath("models/deepseek-v3-tiny");
    EngineProcessOptions o = demo_engine_options(0);
    o.model_dir = model_;
    o.extra_args << QStringLiteral("--runs-dir") << home_.filePath("runs");
    QString error;
    QVERIFY2(engine_.start(o, &error), qPrintable(error));
}

std::unique_ptr<FinetunePanel> FinetuneEngineTest::openPanel() { return moe::ui::test::open_finetune_panel(engine_.client()); }

void FinetuneEngineTest::aShortRunEndToEnd() {
    std::unique_ptr<FinetunePanel> panel = openPanel();
    // The model box starts with the model the chat serves.
    QCOMPARE(QDir(panel->form()->settings().model), QDir(model_));
    panel->form()->setSettings(tinyRun(panel->form()->settings().model, 6));

    panel->resize(700, 450);  // a laptop's dock: the form is taller than the page
    QSignalSpy answered(panel.get(), &FinetunePanel::planAnswered);
    panel->checkPlan();
    QVERIFY(answered.wait(60'000));
    if (panel->planView()->hasReport()) {
        // The report, under the form, is scrolled into view when it arrives.
        QTRY_VERIFY_WITH_TIMEOUT(planInView(*panel), 2'000);
        QCOMPARE(panel->planView()->domainTable()->rowCount(), 1);  // prose
        // Counted per domain: documents, samples, tokens, tokens with loss, held out.
        QCOMPARE(panel->planView()->domainTable()->item(0, 0)->text(), QStringLiteral("prose"));
        for (int c = 1; c < 6; ++c) {
            bool number = false;
            const int n = QLocale().toInt(panel->planView()->domainTable()->item(0, c)->text(), &number);
            QVERIFY2(number && n > 0, qPrintable(QString::number(c) + ": " + panel->planView()->domainTable()->item(0, c)->text()));
        }
        QVERIFY2(panel->planView()->memoryText().contains("Memory needed"), qPrintable(panel->planView()->memoryText()));
    } else {
        // An engine without POST /workbench/v1/train/plan: the panel says what to do instead.
        QVERIFY2(panel->planView()->summaryText().contains("cannot check a run before it starts"),
                 qPrintable(panel->planView()->summaryText() + " / " + panel->setupNotice()->fullText()));
    }

    panel->resize(1000, 800);
    panel->startRun();
    QTRY_VERIFY_WITH_TIMEOUT(!panel->watchedRun().isEmpty(), 10'000);
    done_run_ = panel->watchedRun();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("done"), kRunTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(panel->history().evals().size(), 4, 10'000);  // steps 0 (before), 2, 4, 6
    const TrainHistory& h = panel->history();
    QCOMPARE(h.steps().size(), 6);
    QCOMPARE(h.evals().first().step, 0);

    RunCharts* charts = panel->progress()->charts();
    QCOMPARE(charts->lossPlot()->seriesCount(), 4);  // total, CE, MTP, balance
    for (int s = 0; s < 4; ++s) QCOMPARE(charts->lossPlot()->pointCount(s), 6);
    QCOMPARE(charts->evalPlot()->seriesCount(), 1);
    QCOMPARE(charts->evalPlot()->xs(0), (QVector<double>{0, 2, 4, 6}));
    for (double loss : charts->evalPlot()->ys(0)) QVERIFY(std::isfinite(loss) && loss > 0);
    QCOMPARE(charts->lrPlot()->pointCount(0), 6);
    QCOMPARE(charts->gradPlot()->pointCount(0), 6);
    QCOMPARE(charts->speedPlot()->pointCount(0), 6);
    const moe::viz::HeatmapData vio = charts->maxVioHeatmap()->data();
    QCOMPARE(vio.row_labels, (QStringList{"1", "2", "3"}));  // MoE layers 1 and 2, and the MTP module (3)
    QCOMPARE(vio.cols, 6);
    QCOMPARE(charts->biasDriftHeatmap()->data().rows, 6);
    QCOMPARE(charts->biasDriftHeatmap()->data().cols, 16);
    QCOMPARE(charts->loadBefore()->data().rows, 3);
    QCOMPARE(charts->loadAfter()->data().rows, 3);
    QVERIFY(std::isnan(charts->loadBefore()->data().at(0, 0)));  // layer 0 is dense

    // The bias "at the start" is the served checkpoint's own (the telemetry of the chat's model).
    const QVector<double> start = charts->biasBars()->reference();
    QCOMPARE(start.size(), 16);
    QJsonObject snapshot;
    engine_.client().sendJson("GET", "/workbench/v1/telemetry/snapshot", {}, this,
                              [&](const EngineClient::JsonReply& r) { snapshot = r.body; });
    QTRY_VERIFY_WITH_TIMEOUT(!snapshot.isEmpty(), 10'000);
    QVector<double> served;
    for (const QJsonValue& l : snapshot.value("routing").toObject().value("layers").toArray())
        if (l.toObject().value("layer").toInt() == charts->biasLayerBox()->value())
            for (const QJsonValue& b : l.toObject().value("bias").toArray()) served << b.toDouble();
    QCOMPARE(served.size(), 16);
    for (int e = 0; e < 16; ++e) QVERIFY2(std::abs(served[e] - start[e]) < 1e-6, qPrintable(QString::number(e)));
    // ... and it moved: γ = 1e-3 per step, 6 steps.
    double moved = 0;
    for (int e = 0; e < 16; ++e) moved = std::max(moved, std::abs(charts->biasBars()->values()[e] - start[e]));
    QVERIFY2(moved > 5e-4 && moved < 6.5e-3, qPrintable(QString::number(moved)));

    // The data report of the run itself, and its checkpoints (every 3 steps, the last 2 kept).
    QVERIFY(panel->progress()->planView()->hasReport());
    QCOMPARE(panel->progress()->checkpointList()->count(), 2);
    QVERIFY(panel->progress()->exportButton()->isEnabled());
    QVERIFY(!panel->progress()->pauseButton()->isEnabled());

    // Export and chat with it: the exported folder is handed to the window, which loads it.
    QSignalSpy load(panel.get(), &FinetunePanel::loadRequested);
    panel->progress()->dtypeBox()->setCurrentIndex(panel->progress()->dtypeBox()->findData("f32"));
    panel->progress()->exportButton()->click();
    QVERIFY(load.wait(60'000));
    const QString out = load.first().first().toString();
    QVERIFY2(QFileInfo::exists(out + "/model.safetensors"), qPrintable(out));
    QSignalSpy models(&engine_.client(), &EngineClient::modelsChanged);
    engine_.client().loadModel(out);  // what MainWindow::loadModel does
    QTRY_VERIFY_WITH_TIMEOUT(QDir(lastRoot(models)) == QDir(out), 60'000);
    QTRY_VERIFY_WITH_TIMEOUT(panel->progress()->findChild<QLabel*>("finetune.exportNote")->text().contains("loaded into the chat"),
                             5'000);
    engine_.client().loadModel(model_);  // back to the checkpoint for the next test
    QTRY_VERIFY_WITH_TIMEOUT(QDir(lastRoot(models)) == QDir(model_), 60'000);
}

void FinetuneEngineTest::pauseResumeReattachCancel() {
    QString id;
    {
        std::unique_ptr<FinetunePanel> panel = openPanel();
        panel->showNewRun();
        RunSettings s = tinyRun(model_, 100'000);
        s.eval_every = 0;
        s.checkpoint_every = 0;
        panel->form()->setSettings(s);
        panel->startRun();
        QTRY_VERIFY_WITH_TIMEOUT(!panel->watchedRun().isEmpty(), 10'000);
        id = panel->watchedRun();
        QTRY_VERIFY_WITH_TIMEOUT(panel->history().lastStep() >= 2, kRunTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("running"), 5'000);  // status: once a second
        QVERIFY(panel->progress()->pauseButton()->isEnabled());
        QVERIFY(panel->progress()->charts()->evalPlot()->emptyMessage().contains("does not evaluate"));

        panel->progress()->pauseButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("paused"), 10'000);
        QVERIFY(panel->progress()->resumeButton()->isEnabled());
        QTest::qWait(600);  // a step in flight when the pause came lands in the history
        const int paused_at = panel->history().lastStep();
        QTest::qWait(1500);
        QCOMPARE(panel->history().lastStep(), paused_at);  // no step while paused

        panel->progress()->resumeButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("running"), 10'000);
        QTRY_VERIFY_WITH_TIMEOUT(panel->history().lastStep() > paused_at + 1, kRunTimeoutMs);
    }  // the window closes; the run goes on in its own process

    std::unique_ptr<FinetunePanel> panel = openPanel();
    QTRY_COMPARE_WITH_TIMEOUT(panel->watchedRun(), id, 10'000);  // reattached without being asked
    QTRY_VERIFY_WITH_TIMEOUT(panel->history().steps().size() >= 3, 10'000);  // the whole history...
    QCOMPARE(panel->history().steps().first().step, 1);
    const int seen = panel->history().lastStep();
    QTRY_VERIFY_WITH_TIMEOUT(panel->history().lastStep() > seen + 1, kRunTimeoutMs);  // ...then live
    QCOMPARE(panel->progress()->charts()->lossPlot()->pointCount(0), panel->history().steps().size());

    panel->progress()->cancelButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("cancelled"), 30'000);
    QTRY_COMPARE_WITH_TIMEOUT(panel->progress()->checkpointList()->count(), 1, 10'000);  // cancel saves one
    QVERIFY(panel->progress()->exportButton()->isEnabled());
    QVERIFY(!panel->progress()->cancelButton()->isEnabled());
}

void FinetuneEngineTest::aFinishedRunReopensFromItsHistory() {
    QVERIFY(!done_run_.isEmpty());
    std::unique_ptr<FinetunePanel> panel = openPanel();
    QVERIFY(panel->watchedRun().isEmpty());  // nothing runs: the panel opens on a new run
    QVERIFY(panel->runs().size() >= 2);
    const int index = panel->runBox()->findData(done_run_);
    QVERIFY(index > 0);
    QVERIFY(panel->runBox()->itemText(index).contains("finished, step 6 of 6"));
    panel->runBox()->setCurrentIndex(index);
    emit panel->runBox()->activated(index);  // as a click in the list does
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*panel), QStringLiteral("done"), 10'000);
    QTRY_COMPARE_WITH_TIMEOUT(panel->history().steps().size(), 6, 10'000);
    QCOMPARE(panel->history().evals().size(), 4);
    QCOMPARE(panel->progress()->charts()->maxVioHeatmap()->data().cols, 6);
    // The form keeps the settings of the last run started (QSettings).
    panel->showNewRun();
    QCOMPARE(panel->form()->settings().steps, 100'000);
}

// A run left going by a failed check would train on in its own process: cancel what still runs.
void FinetuneEngineTest::cleanupTestCase() {
    QJsonArray runs;
    bool listed = false;
    engine_.client().sendJson("GET", "/workbench/v1/train", {}, this, [&](const EngineClient::JsonReply& r) {
        runs = r.body.value("data").toArray();
        listed = true;
    });
    QTRY_VERIFY_WITH_TIMEOUT(listed, 10'000);
    int answered = 0, asked = 0;
    for (const QJsonValue& v : runs) {
        const QString state = v.toObject().value("state").toString();
        if (state != "running" && state != "paused" && state != "starting") continue;
        ++asked;
        engine_.client().sendJson("POST", "/workbench/v1/train/" + v.toObject().value("id").toString() + "/cancel", {},
                                  this, [&](const EngineClient::JsonReply&) { ++answered; });
    }
    QTRY_COMPARE_WITH_TIMEOUT(answered, asked, 10'000);
    QTest::qWait(asked > 0 ? 2'000 : 0);  // the runs save their checkpoint and exit
}

QTEST_MAIN(FinetuneEngineTest)
#include "finetune_engine_test.moc"
