// The fine-tune panel without an engine: the run description it sends, the problems it names before
// sending, a run's history taken from the engine's events (repeats from overlapping polls ignored,
// skipped steps counted, the grids it draws), the data report and memory estimate in words, the
// charts fed from a history, the learning-rate box, and an engine that cannot plan a run (404/405)
// or refuses a setting — answered by a stand-in HTTP server on 127.0.0.1.
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

#include <cmath>

#include "adaptive_splitter.h"
#include "bar_chart_widget.h"
#include "engine_client.h"
#include "error_notice.h"
#include "finetune_panel.h"
#include "heatmap_widget.h"
#include "plan_view.h"
#include "run_charts.h"
#include "run_settings.h"
#include "run_setup_form.h"
#include "scientific_spin_box.h"
#include "time_series_widget.h"
#include "train_history.h"

using namespace moe::ui;
using namespace moe::ui::finetune;

namespace {

QJsonObject json(const char* text) { return QJsonDocument::fromJson(QByteArray(text)).object(); }

// Layer 1 and 2 are MoE layers with 4 experts; layer 0 is dense.
QJsonObject stepEvent(int step, double ce, double bias_shift) {
    auto layer = [&](int l) {
        QJsonArray bias;
        for (int e = 0; e < 4; ++e) bias.append(0.01 * e + bias_shift * (e % 2 ? 1 : -1) + l);
        return QJsonObject{{"maxvio", 0.1 * step + l}, {"load", QJsonArray{1, 2, 3, 4}}, {"bias", bias}};
    };
    return QJsonObject{{"event", "step"}, {"step", step}, {"steps", 4}, {"ce", ce}, {"l_mtp", 0.0},
                       {"l_bal", 1e-4}, {"total", ce + 1e-4}, {"lr", 1e-3 * step}, {"grad_norm", 2.0 / step},
                       {"tokens_per_s", 100.0 * step}, {"eta_s", 4.0 - step}, {"skipped", false},
                       {"layers", QJsonObject{{"1", layer(1)}, {"2", layer(2)}}}};
}

QJsonObject evalEvent(int step, double loss) {
    auto load = [&](int base) {
        return QJsonObject{{"1", QJsonArray{base, base + 1, base + 2, base + 3}}, {"2", QJsonArray{4, 3, 2, base}}};
    };
    QJsonObject bias;
    for (int l : {1, 2}) bias.insert(QString::number(l), QJsonArray{0.0 + l, 0.01 + l, 0.02 + l, 0.03 + l});
    return QJsonObject{{"event", "eval"}, {"step", step},
                       {"domains", QJsonObject{{"prose", QJsonObject{{"loss", loss}, {"ppl", std::exp(loss)}, {"tokens", 40}, {"load", load(step)}}},
                                               {"code", QJsonObject{{"loss", loss + 1}, {"ppl", std::exp(loss + 1)}, {"tokens", 30}, {"load", load(10 + step)}}}}},
                       {"routing_bias", bias}};
}

// The events a 4-step run writes: eval before step 1, steps, a skipped step, evals at 2 and 4.
QJsonArray runEvents() {
    QJsonObject skipped = stepEvent(2, NAN, 0);
    skipped.insert("skipped", true);
    skipped.insert("layers", QJsonObject{});
    return QJsonArray{evalEvent(0, 5.0), stepEvent(1, 4.0, 0.001), stepEvent(2, 3.5, 0.002), skipped, evalEvent(2, 4.5),
                      stepEvent(3, 3.0, 0.003), stepEvent(4, 2.5, 0.004), evalEvent(4, 4.0)};
}

// A stand-in engine: answers each "METHOD PATH" (query ignored) with a status and a JSON body.
class FakeEngine : public QObject {
public:
    FakeEngine() {
        connect(&server_, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = server_.nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, this, [this, s] { answer(s); });
                connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
            }
        });
        server_.listen(QHostAddress::LocalHost);
    }
    void on(const QString& route, int status, const QByteArray& body) { routes_[route] = {status, body}; }
    QUrl base() const { return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(server_.serverPort())); }
    QStringList requests;

private:
    void answer(QTcpSocket* s) {
        buffer_[s] += s->readAll();
        const QByteArray& in = buffer_[s];
        const int end = in.indexOf("\r\n\r\n");
        if (end < 0) return;
        const QList<QByteArray> head = in.left(in.indexOf("\r\n")).split(' ');
        const QRegularExpressionMatch m = QRegularExpression("content-length: *(\\d+)", QRegularExpression::CaseInsensitiveOption)
                                              .match(QString::fromLatin1(in.left(end)));
        if (m.hasMatch() && in.size() < end + 4 + m.captured(1).toInt()) return;  // the body is still coming
        const QString route = QString::fromLatin1(head.value(0) + ' ' + head.value(1).split('?').first());
        requests << route;
        const auto [status, body] = routes_.value(route, {404, R"({"error":{"message":"not found","code":"not_found"}})"});
        s->write("HTTP/1.1 " + QByteArray::number(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
                 QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        s->disconnectFromHost();
        buffer_.remove(s);
    }
    QTcpServer server_;
    QHash<QString, QPair<int, QByteArray>> routes_;
    QHash<QTcpSocket*, QByteArray> buffer_;
};

}  // namespace

class FinetuneLogicTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QCoreApplication::setOrganizationName(QStringLiteral("moe-workbench-test-finetune")); }

    void settingsBecomeTheEnginesRunDescription() {
        RunSettings s;
        s.model = "/models/tiny";
        s.data_paths = {"/data/prose", "/data/chat.jsonl=dialogue"};
        s.steps = 60;
        s.warmup = 6;
        s.lr = 3e-4;
        s.cosine = false;
        s.eval_every = 10;
        const QJsonObject expected = json(R"({
            "model": "/models/tiny", "method": "lora", "seed": 0,
            "data": {"paths": ["/data/prose", "/data/chat.jsonl=dialogue"], "seq_len": 512, "batch": 4,
                     "accumulation": 1, "holdout": 0.05},
            "lora": {"rank": 16, "alpha": 32, "dropout": 0.05, "targets": ["attention", "shared_experts", "experts"]},
            "schedule": {"steps": 60, "lr": 0.0003, "warmup": 6, "decay": "constant"},
            "optimizer": {"weight_decay": 0, "clip": 1},
            "objectives": {"mtp_lambda": 0, "balance_alpha": 0.0001, "bias_gamma": 0.001},
            "intervals": {"eval": 10, "checkpoint": 50, "keep_checkpoints": 3}})");
        QCOMPARE(s.toJson(), expected);
        // A stored description comes back as the same settings.
        const RunSettings back = RunSettings::fromJson(s.toJson());
        QCOMPARE(back.toJson(), expected);
        // Only LoRA sends a lora section; the engine's own copy (every key, "out" too) reads back.
        s.method = Method::Full;
        QVERIFY(!s.toJson().contains("lora"));
        QJsonObject stored = s.toJson();
        stored.insert("out", "/runs/x");
        stored.insert("tokenizer", "/models/tiny");
        QCOMPARE(RunSettings::fromJson(stored).toJson(), s.toJson());
    }

    void problemsAreNamedBeforeAnythingIsSent() {
        RunSettings s;
        QVERIFY(s.problem().contains("model"));
        s.model = "/m";
        QVERIFY(s.problem().contains("data"));
        s.data_paths = {"/d"};
        QCOMPARE(s.problem(), QString());
        s.warmup = 500;
        QVERIFY2(s.problem().contains("warm-up (500 steps) is longer than the run (200 steps)"), qPrintable(s.problem()));
        s.warmup = 0;
        s.method = Method::MtpHead;
        QVERIFY(s.problem().contains("MTP loss weight"));
        s.mtp_lambda = 0.3;
        QCOMPARE(s.problem(), QString());
        s.method = Method::Lora;
        s.lora_targets.clear();
        QVERIFY(s.problem().contains("LoRA"));
    }

    void theFormProposesTheMethodsLearningRate() {
        RunSetupForm form;
        QCOMPARE(form.settings().lr, defaultLearningRate(Method::Lora));
        form.methodBox()->setCurrentIndex(form.methodBox()->findData("full"));
        QCOMPARE(form.settings().method, Method::Full);
        QCOMPARE(form.settings().lr, defaultLearningRate(Method::Full));
        form.methodBox()->setCurrentIndex(form.methodBox()->findData("mtp-head"));
        QCOMPARE(form.settings().mtp_lambda, 0.3);  // the MTP head needs its loss switched on
        // A learning rate the user chose stays.
        RunSettings s = form.settings();
        s.lr = 5e-3;
        form.setSettings(s);
        form.methodBox()->setCurrentIndex(form.methodBox()->findData("lora"));
        QCOMPARE(form.settings().lr, 5e-3);
        QCOMPARE(RunSettings::fromJson(form.settings().toJson()).toJson(), form.settings().toJson());
    }

    // Side by side, the form is as tall as its taller column: in the setup page's scroll area a
    // stacked height would leave an empty band between the form and its buttons.
    void theFormsColumnsTakeTheHeightTheyNeed() {
        RunSetupForm form;
        form.resize(1000, 600);
        form.show();
        QVERIFY(QTest::qWaitForWindowExposed(&form));
        auto* columns = form.findChild<AdaptiveSplitter*>(QStringLiteral("finetune.setup.columns"));
        QVERIFY(columns);
        QTRY_COMPARE(columns->orientation(), Qt::Horizontal);
        int tallest = 0, stacked = 0;
        for (int i = 0; i < columns->count(); ++i) {
            const int h = columns->widget(i)->minimumSizeHint().height();
            tallest = std::max(tallest, h);
            stacked += h;
        }
        QVERIFY(tallest < stacked);
        QCOMPARE(columns->minimumSizeHint().height(), tallest);
        QVERIFY2(form.minimumSizeHint().height() < stacked, qPrintable(QString::number(form.minimumSizeHint().height())));
        form.resize(500, 600);  // narrow: stacked, and then the heights add up
        QTRY_COMPARE(columns->orientation(), Qt::Vertical);
        QVERIFY(columns->minimumSizeHint().height() >= stacked);
    }

    void historyTakesEachEventOnce() {
        TrainHistory h;
        QCOMPARE(h.nextSince(), -1);  // the first poll asks for everything, the step-0 eval included
        QCOMPARE(h.add(runEvents()), 7);
        QCOMPARE(h.add(runEvents()), 0);  // an overlapping poll adds nothing
        QCOMPARE(h.steps().size(), 4);
        QCOMPARE(h.skippedSteps(), 1);  // noted once however often a poll brings it; never drawn
        QCOMPARE(h.lastStep(), 4);
        QCOMPARE(h.nextSince(), 3);
        QCOMPARE(h.evals().size(), 3);
        QCOMPARE(h.evals().first().step, 0);
        QCOMPARE(h.domains(), (QStringList{"code", "prose"}));
        QCOMPARE(h.moeLayers(), (QList<int>{1, 2}));
        QCOMPARE(h.experts(), 4);
        QCOMPARE(h.steps()[2].ce, 3.0);
        QCOMPARE(h.steps()[2].step, 3);
    }

    void historyGridsHoldTheRun() {
        TrainHistory h;
        h.add(runEvents());
        const moe::viz::HeatmapData vio = h.maxVio();
        QCOMPARE(vio.rows, 2);  // layers 1 and 2
        QCOMPARE(vio.cols, 4);  // steps 1..4
        QCOMPARE(vio.col_origin, 1);
        QCOMPARE(vio.row_labels, (QStringList{"1", "2"}));
        QCOMPARE(vio.at(1, 2), 0.1 * 3 + 2);  // layer 2, step 3
        QString label;
        const QVector<double> ref = h.biasReference(1, &label);
        QCOMPARE(label, QStringLiteral("step 0"));
        QCOMPARE(ref, (QVector<double>{1.0, 1.01, 1.02, 1.03}));
        const moe::viz::HeatmapData drift = h.biasDrift(1);
        QCOMPARE(drift.rows, 4);
        QCOMPARE(drift.cols, 4);
        QCOMPARE(drift.row_labels, (QStringList{"1", "2", "3", "4"}));
        // step 3, expert 1: 0.01 + 0.003 + 1 − 1.01 (f32 storage: 1e-6)
        QVERIFY(std::abs(drift.at(2, 1) - 0.003) < 1e-6);
        QVERIFY(std::abs(drift.at(3, 0) - (-0.004)) < 1e-6);
        int now_step = 0;
        const QVector<double> now = h.biasNow(2, &now_step);
        QCOMPARE(now_step, 4);
        QVERIFY(std::abs(now[3] - (0.03 + 0.004 + 2)) < 1e-6);
        const moe::viz::HeatmapData before = h.domainLoad("code", 0), after = h.domainLoad("code", -1);
        QCOMPARE(before.rows, 3);  // layers 0..2, layer 0 without experts
        QVERIFY(std::isnan(before.at(0, 0)));
        QCOMPARE(before.at(1, 0), 10.0);
        QCOMPARE(after.at(1, 3), 17.0);  // eval at step 4: 10 + 4 + 3
        QCOMPARE(h.domainLoad("nope", 0).rows, 0);
        // Without the step-0 eval the reference is the bias after the first step.
        TrainHistory late;
        QJsonArray events = runEvents();
        events.removeAt(0);
        late.add(events);
        late.biasReference(1, &label);
        QCOMPARE(label, QStringLiteral("after step 1"));
        QCOMPARE(late.biasDrift(1).at(0, 0), 0.0);
    }

    void theDataReportAndMemoryReadAsWords() {
        PlanView view;
        const QJsonObject report = json(R"({"seq_len": 64, "batch": 2,
            "domains": [{"name": "prose", "documents": 2, "train": {"samples": 3, "tokens": 150, "loss_tokens": 148},
                         "holdout": {"samples": 1, "tokens": 40, "loss_tokens": 39}},
                        {"name": "code", "documents": 3, "train": {"samples": 2, "tokens": 1200, "loss_tokens": 1198},
                         "holdout": {"samples": 1, "tokens": 90, "loss_tokens": 89}}],
            "totals": {"train": {"samples": 5, "tokens": 1350, "loss_tokens": 1346},
                       "holdout": {"samples": 2, "tokens": 130, "loss_tokens": 128}},
            "truncated": {"samples": 1, "tokens": 33}, "chunked_documents": 0,
            "malformed": [{"file": "chat.jsonl", "line": 7, "code": "data.bad_field", "reason": "no messages"}],
            "dropped": []})");
        const QJsonObject plan = json(R"({"method": "lora", "backend": "cpu", "trainable_parameters": 123456,
            "tokens_per_step": 128, "memory": {"frozen_weights": 0, "masters": 493824, "gradients": 493824,
            "adamw": 987648, "weight_copies": 0, "activations": 1073741824, "workspace": 524288, "total": 1075741824}})");
        view.showPlan(report, plan);
        QVERIFY(view.hasReport());
        QTableWidget* t = view.domainTable();
        QCOMPARE(t->rowCount(), 2);
        QCOMPARE(t->item(1, 0)->text(), QStringLiteral("code"));
        QCOMPARE(t->item(1, 3)->text(), QLocale().toString(1200));
        QCOMPARE(t->item(0, 5)->text(), QStringLiteral("1"));
        const QString summary = view.summaryText();
        QVERIFY2(summary.contains("5 samples of 2 kind(s) of text") && summary.contains(QLocale().toString(1346)),
                 qPrintable(summary));
        QVERIFY2(summary.contains("1 chat sample(s) were longer than a sequence and cut (33 tokens left out)"), qPrintable(summary));
        QVERIFY2(summary.contains("chat.jsonl:7: no messages"), qPrintable(summary));
        const QString memory = view.memoryText();
        QVERIFY2(memory.contains("Trains 123.5K parameters (LoRA adapters)") && memory.contains("about 1.00 GiB"),
                 qPrintable(memory));
        // the biggest part first, zeros left out
        QVERIFY2(memory.indexOf("activations") < memory.indexOf("optimiser state"), qPrintable(memory));
        QVERIFY(!memory.contains("frozen weights"));
        // An engine that names its domains only: names, and the totals above them.
        QJsonObject names = report;
        names.insert("domains", QJsonArray{"prose", "code"});
        view.showPlan(names, {});
        QCOMPARE(t->rowCount(), 2);
        QCOMPARE(t->item(0, 0)->text(), QStringLiteral("prose"));
        QCOMPARE(t->item(0, 3)->text(), QStringLiteral("–"));
        QVERIFY(view.memoryText().isEmpty());
    }

    void chartsDrawTheHistory() {
        TrainHistory h;
        h.add(runEvents());
        RunCharts charts;
        charts.resize(800, 600);
        charts.update(h, 4, 2);
        QCOMPARE(charts.lossPlot()->seriesCount(), 3);  // total, CE, balance; MTP stayed 0: no series
        for (int s = 0; s < 3; ++s) QCOMPARE(charts.lossPlot()->pointCount(s), 4);
        QCOMPARE(charts.evalPlot()->seriesCount(), 2);
        QCOMPARE(charts.evalPlot()->pointCount(0), 3);
        QCOMPARE(charts.evalPlot()->xs(0), (QVector<double>{0, 2, 4}));
        QCOMPARE(charts.lrPlot()->pointCount(0), 4);
        QCOMPARE(charts.gradPlot()->ys(0).last(), 0.5);
        QCOMPARE(charts.speedPlot()->pointCount(0), 4);
        QCOMPARE(charts.maxVioHeatmap()->data().cols, 4);
        QVERIFY(!charts.maxVioHeatmap()->isShowingEmptyMessage());
        QCOMPARE(charts.biasLayerBox()->minimum(), 1);
        QCOMPARE(charts.biasLayerBox()->maximum(), 2);
        QCOMPARE(charts.biasDriftHeatmap()->data().rows, 4);
        QCOMPARE(charts.biasBars()->values().size(), 4);
        QCOMPARE(charts.biasBars()->reference(), (QVector<double>{1.0, 1.01, 1.02, 1.03}));
        QCOMPARE(charts.domainBox()->count(), 2);
        QCOMPARE(charts.loadBefore()->data().rows, 3);
        QCOMPARE(charts.loadAfter()->data().at(1, 0), charts.domainBox()->currentText() == "code" ? 14.0 : 4.0);
        // More steps later: appended, not redrawn from scratch.
        h.add(QJsonArray{stepEvent(5, 2.0, 0.005)});
        charts.update(h, 8, 2);
        QCOMPARE(charts.lossPlot()->pointCount(0), 5);
        QCOMPARE(charts.lossPlot()->xs(0).last(), 5.0);
        // A run that does not evaluate says so where the per-domain views would be.
        TrainHistory no_eval;
        QJsonArray steps;
        for (int i = 1; i <= 3; ++i) steps.append(stepEvent(i, 3.0, 0.0));
        no_eval.add(steps);
        RunCharts quiet;
        quiet.update(no_eval, 3, 0);
        QVERIFY(quiet.evalPlot()->emptyMessage().contains("does not evaluate"));
        QVERIFY(quiet.loadBefore()->emptyMessage().contains("does not evaluate"));
    }

    void theLearningRateBoxSpeaksScientific() {
        ScientificSpinBox box;
        box.setValue(2e-4);
        QCOMPARE(box.text(), QStringLiteral("2.0e-04"));
        QCOMPARE(box.valueFromText("0.0003"), 3e-4);
        QCOMPARE(box.valueFromText("1e-5"), 1e-5);
        box.stepBy(1);
        QCOMPARE(box.value(), 4e-4);
        box.stepBy(-2);
        QCOMPARE(box.value(), 1e-4);
        box.setValue(0.3);
        QCOMPARE(box.text(), QStringLiteral("0.3"));
        QString text = "abc";
        int pos = 0;
        QCOMPARE(box.validate(text, pos), QValidator::Invalid);
    }

    void anEngineWithoutAPlannerIsSaidInPlainWords() {
        FakeEngine engine;
        engine.on("GET /workbench/v1/train", 200, R"({"object":"list","data":[]})");
        engine.on("POST /workbench/v1/train/plan", 405,
                  R"({"error":{"message":"POST is not allowed here","type":"invalid_request_error","code":"method_not_allowed"}})");
        EngineClient client;
        client.setEndpoint({engine.base(), {}});
        FinetunePanel panel(&client);
        RunSettings s;
        s.model = "/models/tiny";
        s.data_paths = {"/data/prose"};
        panel.form()->setSettings(s);
        QSignalSpy answered(&panel, &FinetunePanel::planAnswered);
        panel.checkPlan();
        QVERIFY(answered.wait(5000));
        QVERIFY2(panel.planView()->summaryText().contains("cannot check a run before it starts"),
                 qPrintable(panel.planView()->summaryText()));
        QVERIFY(!panel.setupNotice()->isVisible() || panel.setupNotice()->text().isEmpty());
        QVERIFY(engine.requests.contains("POST /workbench/v1/train/plan"));
        // 404 reads the same.
        engine.on("POST /workbench/v1/train/plan", 404, R"({"error":{"message":"no route","code":"not_found"}})");
        panel.checkPlan();
        QVERIFY(answered.wait(5000));
        QVERIFY(panel.planView()->summaryText().contains("cannot check a run before it starts"));
        // A refused setting: the plain-words line, the engine's text one click away.
        engine.on("POST /workbench/v1/train/plan", 400,
                  R"({"error":{"message":"request: data.pathz: unknown setting","type":"invalid_request_error","code":"train.bad_config","param":"config"}})");
        panel.checkPlan();
        QVERIFY(answered.wait(5000));
        QVERIFY2(panel.setupNotice()->text().startsWith("Checking the run failed: a setting of the run"),
                 qPrintable(panel.setupNotice()->text()));
        QVERIFY(panel.setupNotice()->detail().contains("data.pathz"));
        // Nothing is sent for a run with a missing setting.
        const int sent = engine.requests.size();
        panel.form()->setSettings(RunSettings{});
        panel.startRun();
        QTest::qWait(200);
        QCOMPARE(engine.requests.size(), sent);
        QVERIFY(panel.setupNotice()->text().contains("Choose the model"));
    }

    void aBusyEngineExplainsWhyNoRunStarts() {
        FakeEngine engine;
        engine.on("POST /workbench/v1/train", 409,
                  R"({"error":{"message":"run 'r1' is still training; cancel it or wait for it to finish","code":"train.busy"}})");
        EngineClient client;
        client.setEndpoint({engine.base(), {}});
        FinetunePanel panel(&client);
        RunSettings s;
        s.model = "/models/tiny";
        s.data_paths = {"/data/prose"};
        panel.form()->setSettings(s);
        panel.startRun();
        QTRY_VERIFY_WITH_TIMEOUT(!panel.setupNotice()->text().isEmpty(), 5000);
        QVERIFY2(panel.setupNotice()->text().contains("another fine-tune run is still training"),
                 qPrintable(panel.setupNotice()->text()));
        QVERIFY(panel.watchedRun().isEmpty());
    }
};

QTEST_MAIN(FinetuneLogicTest)
#include "finetune_logic_test.moc"
