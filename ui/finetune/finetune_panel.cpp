#include "finetune_panel.h"

#include <QComboBox>
#include <QDir>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStackedWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "engine_client.h"
#include "error_notice.h"
#include "plan_view.h"
#include "run_progress_view.h"
#include "run_setup_form.h"
#include "run_watcher.h"
#include "train_api.h"

namespace moe::ui::finetune {

namespace {

const char* const kSettingsKey = "finetune/lastRun";  // the run description last started
constexpr int kNewRunIndex = 0;                       // the run box's first entry

QString stateWords(const QString& state) {
    if (state == QLatin1String("running")) return QObject::tr("training");
    if (state == QLatin1String("done")) return QObject::tr("finished");
    return state;  // starting, paused, cancelled, failed, stopped: the word is plain already
}

// engine/demo/demo_model.h kTrainingRunId (the window does not link the engine).
constexpr const char* kDemoTrainingRunId = "demo-model-training";

QString runLabel(const QJsonObject& run) {
    return QObject::tr("%1 — %2, step %3 of %4")
        .arg(run.value("id").toString(), stateWords(run.value("state").toString()))
        .arg(run.value("step").toInt())
        .arg(run.value("steps").toInt());
}

}  // namespace

FinetunePanel::FinetunePanel(EngineClient* client, QWidget* parent)
    : QWidget(parent), api_(std::make_unique<TrainApi>(client)), client_(client) {
    watcher_ = new RunWatcher(api_.get(), this);
    run_box_ = new QComboBox(this);
    run_box_->setObjectName(QStringLiteral("finetune.runs"));
    run_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    run_box_->setMinimumContentsLength(20);
    run_box_->setToolTip(tr("Runs in the engine's runs folder, newest first; each keeps its history"));
    run_box_->addItem(tr("New run…"));
    auto* refresh = new QPushButton(tr("Refresh"), this);
    refresh->setToolTip(tr("List the engine's runs again"));
    connect(refresh, &QPushButton::clicked, this, [this] { refreshRuns(); });
    connect(run_box_, &QComboBox::activated, this, &FinetunePanel::onRunChosen);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Run:"), this));
    top->addWidget(run_box_, 1);
    top->addWidget(refresh);

    notice_ = new ErrorNotice(this);
    notice_->setObjectName(QStringLiteral("finetune.notice"));
    notice_->setDismissible(true);
    progress_ = new RunProgressView(this);
    pages_ = new QStackedWidget(this);
    pages_->addWidget(buildSetupPage());
    pages_->addWidget(progress_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(notice_);
    layout->addWidget(pages_, 1);

    connect(watcher_, &RunWatcher::statusArrived, this, &FinetunePanel::onStatus);
    connect(watcher_, &RunWatcher::eventsArrived, this, &FinetunePanel::onEvents);
    connect(watcher_, &RunWatcher::failed, this, [this](const QString& detail) {
        following_failed_ = true;
        notice_->showError(detail, tr("Following the run"));
    });
    connect(progress_, &RunProgressView::controlRequested, this, &FinetunePanel::control);
    connect(progress_, &RunProgressView::exportRequested, this, &FinetunePanel::exportCheckpoint);
    if (client_) {
        connect(client_, &EngineClient::modelsChanged, this, &FinetunePanel::onModels);
        // A new engine (restart, another server): its runs, and the one to follow, are listed afresh.
        connect(client_, &EngineClient::connectionStateChanged, this, [this](bool reachable) {
            if (!reachable) listed_once_ = false;
        });
    }
    const QJsonObject saved = QJsonDocument::fromJson(QSettings().value(QLatin1String(kSettingsKey)).toByteArray()).object();
    if (!saved.isEmpty()) form_->setSettings(RunSettings::fromJson(saved));
}

FinetunePanel::~FinetunePanel() = default;

QWidget* FinetunePanel::buildSetupPage() {
    auto* page = new QWidget;
    form_ = new RunSetupForm(page);
    check_ = new QPushButton(tr("Check data and memory"), page);
    check_->setObjectName(QStringLiteral("finetune.check"));
    check_->setToolTip(tr("Reads the data as the run would and estimates the memory it needs, without training"));
    start_ = new QPushButton(tr("Start training"), page);
    start_->setObjectName(QStringLiteral("finetune.start"));
    start_->setDefault(true);
    connect(check_, &QPushButton::clicked, this, &FinetunePanel::checkPlan);
    connect(start_, &QPushButton::clicked, this, &FinetunePanel::startRun);
    setup_notice_ = new ErrorNotice(page);
    setup_notice_->setObjectName(QStringLiteral("finetune.setup.notice"));
    plan_ = new PlanView(page);
    plan_->setObjectName(QStringLiteral("finetune.plan"));
    connect(form_, &RunSetupForm::changed, this, [this] {
        setup_notice_->clear();
        if (plan_->hasReport()) plan_->showMessage(tr("The settings changed: check the data and memory again."));
    });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(check_);
    buttons->addWidget(start_);
    buttons->addStretch(1);
    auto* content = new QWidget;
    auto* layout = new QVBoxLayout(content);
    layout->addWidget(form_);
    layout->addLayout(buttons);
    layout->addWidget(setup_notice_);
    layout->addWidget(plan_);
    layout->addStretch(1);
    setup_scroll_ = new QScrollArea(page);
    setup_scroll_->setWidgetResizable(true);
    setup_scroll_->setFrameShape(QFrame::NoFrame);
    setup_scroll_->setWidget(content);
    auto* page_layout = new QVBoxLayout(page);
    page_layout->setContentsMargins(0, 0, 0, 0);
    page_layout->addWidget(setup_scroll_);
    return page;
}

QString FinetunePanel::watchedRun() const { return watcher_->runId(); }

// ---- models ---------------------------------------------------------------------------------------

void FinetunePanel::onModels(const QJsonArray& models) {
    loaded_model_ = models.isEmpty() ? QString() : models.first().toObject().value("root").toString();
    offerModels();
    if (form_->settings().model.isEmpty() && !loaded_model_.isEmpty()) form_->setModel(loaded_model_);
    if (!pending_load_.isEmpty() && QDir(loaded_model_) == QDir(pending_load_)) {
        progress_->setExportNote(tr("Exported to %1 and loaded into the chat.").arg(pending_load_));
        pending_load_.clear();
    }
    // The engine answers: list its runs, and follow one that is still training.
    if (!listed_once_) refreshRuns(true);
}

void FinetunePanel::setRecentModels(const QStringList& folders) {
    recent_models_ = folders;
    offerModels();
}

void FinetunePanel::offerModels() {
    QStringList choices;
    if (!loaded_model_.isEmpty()) choices << loaded_model_;
    for (const QString& f : recent_models_)
        if (!choices.contains(f)) choices << f;
    form_->setModelChoices(choices);
}

// ---- runs ------------------------------------------------------------------------------------------

void FinetunePanel::refreshRuns(bool attach) {
    listed_once_ = true;
    api_->list(this, [this, attach](const Reply& r) {
        if (!r.ok()) {
            listed_once_ = false;
            // An engine without training jobs (another server) says so once; the panel stays usable.
            notice_->showError(r.error, tr("Listing the fine-tune runs"));
            emit runsListed();
            return;
        }
        onRunsListed(r.body.value("data").toArray(), attach);
    });
}

void FinetunePanel::onRunsListed(const QJsonArray& runs, bool attach) {
    runs_ = runs;
    const QString shown = watcher_->runId();
    const QSignalBlocker block(run_box_);
    while (run_box_->count() > 1) run_box_->removeItem(1);
    for (const QJsonValue& v : runs) run_box_->addItem(runLabel(v.toObject()), v.toObject().value("id").toString());
    const int index = shown.isEmpty() ? kNewRunIndex : run_box_->findData(shown);
    run_box_->setCurrentIndex(std::max(index, 0));
    if (attach && shown.isEmpty()) openRunToFollow(runs);
    emit runsListed();
}

// A run still training is followed. Before the user has run anything, the demo model's own training
// run (engine/demo, served with `serve --demo`) is shown: how the model in the chat was made.
void FinetunePanel::openRunToFollow(const QJsonArray& runs) {
    for (const QJsonValue& v : runs) {
        if (!RunWatcher::isFinal(v.toObject().value("state").toString())) {
            openRun(v.toObject().value("id").toString());
            return;
        }
    }
    if (runs.size() == 1 && runs.first().toObject().value("id").toString() == QLatin1String(kDemoTrainingRunId))
        openRun(QLatin1String(kDemoTrainingRunId));
}

void FinetunePanel::onRunChosen(int index) {
    if (index == kNewRunIndex) return showNewRun();
    openRun(run_box_->itemData(index).toString());
}

void FinetunePanel::showNewRun() {
    watcher_->watch({});
    history_.clear();
    progress_->clear();
    run_box_->setCurrentIndex(kNewRunIndex);
    pages_->setCurrentIndex(0);
}

void FinetunePanel::openRun(const QString& id) {
    if (id.isEmpty()) return showNewRun();
    notice_->clear();
    history_.clear();
    progress_->clear();
    pages_->setCurrentIndex(1);
    int index = run_box_->findData(id);
    if (index < 0) {
        run_box_->addItem(id, id);
        index = run_box_->count() - 1;
    }
    run_box_->setCurrentIndex(index);
    watcher_->watch(id);
}

// A poll that failed (a busy or restarting engine) is not news once the next one answers.
void FinetunePanel::clearFollowingError() {
    if (!following_failed_) return;
    following_failed_ = false;
    notice_->clear();
}

void FinetunePanel::onStatus(const QJsonObject& status) {
    clearFollowingError();
    const QString before = progress_->state();
    progress_->showStatus(status);
    progress_->showHistory(history_);  // the x axes follow the run's length
    const int index = run_box_->findData(status.value("id").toString());
    QJsonObject entry{{"id", status.value("id")}, {"state", status.value("state")},
                      {"step", status.value("last_step").toObject().value("step").toInt()},
                      {"steps", status.value("config").toObject().value("schedule").toObject().value("steps")}};
    if (index > 0) run_box_->setItemText(index, runLabel(entry));
    // A run that just ended may have been the one blocking a new start: the list changes too.
    if (!before.isEmpty() && !RunWatcher::isFinal(before) && RunWatcher::isFinal(status.value("state").toString()))
        refreshRuns();
}

void FinetunePanel::onEvents(const QJsonArray& events) {
    clearFollowingError();
    if (history_.add(events) > 0) progress_->showHistory(history_);
}

// ---- a new run -------------------------------------------------------------------------------------

void FinetunePanel::checkPlan() {
    const RunSettings settings = form_->settings();
    if (const QString problem = settings.problem(); !problem.isEmpty()) {
        setup_notice_->showNotice(problem);
        return;
    }
    if (plan_in_flight_) return;
    plan_in_flight_ = true;
    check_->setEnabled(false);
    check_->setText(tr("Checking…"));
    setup_notice_->clear();
    plan_->showMessage(tr("Reading the data and the model as the run would…"));
    api_->plan(settings.toJson(), this, [this](const Reply& r) {
        plan_in_flight_ = false;
        check_->setEnabled(true);
        check_->setText(tr("Check data and memory"));
        if (r.ok()) {
            plan_->showPlan(r.body.value("data_report").toObject(), r.body.value("plan").toObject());
            // The report sits under the form: on a laptop screen it would open out of sight.
            QTimer::singleShot(0, this, [this] { setup_scroll_->ensureWidgetVisible(plan_, 0, 0); });
        } else if (TrainApi::routeMissing(r)) {
            plan_->showMessage(tr("This engine cannot check a run before it starts: it has no "
                                  "/workbench/v1/train/plan (an older moe-engine). Start the run: its data report and "
                                  "memory estimate appear in its Data tab within seconds, and Cancel stops it."));
        } else {
            plan_->clear();
            setup_notice_->showError(r.error, tr("Checking the run"));
        }
        emit planAnswered();
    });
}

void FinetunePanel::startRun() {
    const RunSettings settings = form_->settings();
    if (const QString problem = settings.problem(); !problem.isEmpty()) {
        setup_notice_->showNotice(problem);
        return;
    }
    start_->setEnabled(false);
    setup_notice_->clear();
    api_->start(settings.toJson(), this, [this, settings](const Reply& r) {
        start_->setEnabled(true);
        if (!r.ok()) {
            setup_notice_->showError(r.error, tr("Starting the run"));
            return;
        }
        QSettings().setValue(QLatin1String(kSettingsKey), QJsonDocument(settings.toJson()).toJson(QJsonDocument::Compact));
        openRun(r.body.value("id").toString());
        refreshRuns();
    });
}

// ---- a run -----------------------------------------------------------------------------------------

void FinetunePanel::control(const QString& action) {
    const QString id = watcher_->runId();
    if (id.isEmpty()) return;
    api_->control(id, action, this, [this, id, action](const Reply& r) {
        if (id != watcher_->runId()) return;
        if (!r.ok()) {
            const QString what = action == QLatin1String("pause")    ? tr("Pausing the run")
                                 : action == QLatin1String("resume") ? tr("Resuming the run")
                                                                     : tr("Cancelling the run");
            notice_->showError(r.error, what);
        }
        watcher_->refresh();
    });
}

void FinetunePanel::exportCheckpoint(const QString& dtype) {
    const QString id = watcher_->runId();
    if (id.isEmpty()) return;
    progress_->setExporting(true);
    progress_->setExportNote(tr("Exporting the latest checkpoint…"));
    api_->exportCheckpoint(id, dtype, this, [this, id](const Reply& r) {
        progress_->setExporting(false);
        if (id != watcher_->runId()) return;
        if (!r.ok()) {
            progress_->setExportNote({});
            notice_->showError(r.error, tr("Exporting the checkpoint"));
            return;
        }
        pending_load_ = r.body.value("out").toString();
        progress_->setExportNote(tr("Exported to %1. Loading it into the chat…").arg(pending_load_));
        emit loadRequested(pending_load_);
    });
}

}  // namespace moe::ui::finetune
