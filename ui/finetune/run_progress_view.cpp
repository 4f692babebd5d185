#include "run_progress_view.h"

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>
#include <QVBoxLayout>

#include <cmath>

#include "error_notice.h"
#include "format.h"
#include "plan_view.h"
#include "run_charts.h"
#include "run_watcher.h"

namespace moe::ui::finetune {

namespace {

QString methodName(const QString& key) {
    if (key == QLatin1String("full")) return QObject::tr("full fine-tune");
    if (key == QLatin1String("mtp-head")) return QObject::tr("MTP head");
    return QObject::tr("LoRA");
}

bool isOver(const QString& state) {
    return state == QLatin1String("done") || state == QLatin1String("cancelled") || state == QLatin1String("failed") ||
           state == QLatin1String("stopped");
}

// "Finished", and why at that step when a time limit ended the run before its `steps`.
QString finishedText(const QJsonObject& config, int step) {
    const QJsonObject schedule = config.value("schedule").toObject();
    const int steps = schedule.value("steps").toInt();
    const double minutes = schedule.value("max_minutes").toDouble();
    if (minutes > 0 && step > 0 && step < steps)
        return QObject::tr("Finished at step %L1: its time limit of %2 minutes (of %L3 steps at most)")
            .arg(step)
            .arg(minutes)
            .arg(steps);
    return QObject::tr("Finished");
}

}  // namespace

RunProgressView::RunProgressView(QWidget* parent) : QWidget(parent) {
    title_ = new QLabel(this);
    title_->setObjectName(QStringLiteral("finetune.run.title"));
    title_->setWordWrap(true);
    title_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    state_label_ = new QLabel(this);
    state_label_->setObjectName(QStringLiteral("finetune.run.state"));
    progress_ = new QProgressBar(this);
    progress_->setObjectName(QStringLiteral("finetune.run.progress"));
    progress_->setFormat(tr("step %v of %m"));
    stats_label_ = new QLabel(this);
    stats_label_->setObjectName(QStringLiteral("finetune.run.stats"));
    stats_label_->setWordWrap(true);
    pause_ = new QPushButton(tr("Pause"), this);
    pause_->setObjectName(QStringLiteral("finetune.pause"));
    pause_->setToolTip(tr("Stops the run where it is; Resume continues from that exact point"));
    resume_ = new QPushButton(tr("Resume"), this);
    resume_->setObjectName(QStringLiteral("finetune.resume"));
    cancel_ = new QPushButton(tr("Cancel run"), this);
    cancel_->setObjectName(QStringLiteral("finetune.cancel"));
    cancel_->setToolTip(tr("Ends the run after its current step, saving a checkpoint you can still export"));
    connect(pause_, &QPushButton::clicked, this, [this] { emit controlRequested(QStringLiteral("pause")); });
    connect(resume_, &QPushButton::clicked, this, [this] { emit controlRequested(QStringLiteral("resume")); });
    connect(cancel_, &QPushButton::clicked, this, [this] { emit controlRequested(QStringLiteral("cancel")); });
    error_ = new ErrorNotice(this);
    error_->setObjectName(QStringLiteral("finetune.run.error"));
    charts_ = new RunCharts(this);
    plan_ = new PlanView(this);
    auto* data_tab = new QWidget(this);
    auto* data_layout = new QVBoxLayout(data_tab);
    data_layout->addWidget(plan_);
    data_layout->addStretch(1);
    charts_->tabs()->addTab(data_tab, tr("Data"));
    charts_->tabs()->addTab(buildCheckpointsTab(), tr("Checkpoints"));

    auto* top = new QHBoxLayout;
    top->addWidget(state_label_);
    top->addWidget(progress_, 1);
    top->addWidget(pause_);
    top->addWidget(resume_);
    top->addWidget(cancel_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(title_);
    layout->addLayout(top);
    layout->addWidget(stats_label_);
    layout->addWidget(error_);
    layout->addWidget(charts_, 1);
    clear();
}

QWidget* RunProgressView::buildCheckpointsTab() {
    auto* tab = new QWidget(this);
    checkpoints_ = new QListWidget(tab);
    checkpoints_->setObjectName(QStringLiteral("finetune.checkpoints"));
    checkpoints_->setSelectionMode(QAbstractItemView::NoSelection);
    dtype_ = new QComboBox(tab);
    dtype_->setObjectName(QStringLiteral("finetune.exportDtype"));
    dtype_->addItem(tr("as the model was (auto)"), QStringLiteral("auto"));
    dtype_->addItem(tr("bf16 (16-bit)"), QStringLiteral("bf16"));
    dtype_->addItem(tr("f32 (32-bit, twice the size)"), QStringLiteral("f32"));
    dtype_->addItem(tr("fp8 (8-bit, DeepSeek-V3 style)"), QStringLiteral("fp8"));
    dtype_->setToolTip(tr("The number format of the exported weights"));
    export_ = new QPushButton(tr("Export and chat with it"), tab);
    export_->setObjectName(QStringLiteral("finetune.export"));
    export_->setToolTip(tr("Writes the latest checkpoint as a model folder (LoRA folded into the weights) and "
                           "loads it into the chat"));
    connect(export_, &QPushButton::clicked, this, [this] { emit exportRequested(dtype_->currentData().toString()); });
    export_note_ = new QLabel(tab);
    export_note_->setObjectName(QStringLiteral("finetune.exportNote"));
    export_note_->setWordWrap(true);
    export_note_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Weights:"), tab));
    row->addWidget(dtype_);
    row->addWidget(export_);
    row->addStretch(1);
    auto* layout = new QVBoxLayout(tab);
    layout->addWidget(new QLabel(tr("Saved checkpoints (the last ones are kept):"), tab));
    layout->addWidget(checkpoints_, 1);
    layout->addLayout(row);
    layout->addWidget(export_note_);
    return tab;
}

void RunProgressView::clear() {
    state_.clear();
    total_steps_ = 0;
    has_checkpoint_ = false;
    title_->clear();
    state_label_->clear();
    progress_->setRange(0, 1);
    progress_->setValue(0);
    stats_label_->clear();
    error_->clear();
    charts_->clear();
    plan_->showMessage(tr("The data report comes with the run's first events."));
    checkpoints_->clear();
    export_note_->clear();
    enableControls();
}

void RunProgressView::showStatus(const QJsonObject& status) {
    const QJsonObject config = status.value("config").toObject();
    total_steps_ = config.value("schedule").toObject().value("steps").toInt(total_steps_);
    // A run that is over spans the steps it did: a time-boxed one ends long before its `steps`.
    const int last_step = status.value("last_step").toObject().value("step").toInt();
    if (isOver(status.value("state").toString()) && last_step > 0) total_steps_ = last_step;
    eval_every_ = config.value("intervals").toObject().value("eval").toInt();
    showTitle(status.value("id").toString(), status.value("out").toString(), config);
    showState(status);
    showLastStep(status.value("last_step").toObject());
    if (status.value("data_report").isObject() || status.value("plan").isObject())
        plan_->showPlan(status.value("data_report").toObject(), status.value("plan").toObject());
    const QJsonArray checkpoints = status.value("checkpoints").toArray();
    has_checkpoint_ = !checkpoints.isEmpty();
    if (checkpoints_->count() != checkpoints.size()) {
        checkpoints_->clear();
        for (const QJsonValue& c : checkpoints) {
            const QString name = c.toString();  // "step-00000012"
            checkpoints_->addItem(tr("after step %1").arg(name.mid(5).toInt()));
        }
        if (checkpoints.isEmpty()) checkpoints_->addItem(tr("(none yet)"));
    }
    enableControls();
}

void RunProgressView::showTitle(const QString& id, const QString& folder, const QJsonObject& config) {
    const QString model_path = config.value("model").toString();
    const QString scratch = config.value("scratch").toObject().value("config").toString();
    if (model_path.isEmpty() && !scratch.isEmpty()) {  // a model trained from scratch has no model to fine-tune
        title_->setText(tr("<b>%1</b> · trained from scratch (%2)").arg(id.toHtmlEscaped(), QFileInfo(scratch).fileName().toHtmlEscaped()));
        title_->setToolTip(tr("Run folder: %1\nModel configuration: %2").arg(folder, scratch));
        return;
    }
    title_->setText(tr("<b>%1</b> · %2 of %3").arg(id.toHtmlEscaped(), methodName(config.value("method").toString()),
                                                    QDir(model_path).dirName().toHtmlEscaped()));
    title_->setToolTip(tr("Run folder: %1\nModel: %2").arg(folder, model_path));
}

void RunProgressView::showState(const QJsonObject& status) {
    state_ = status.value("state").toString();
    const int step = status.value("last_step").toObject().value("step").toInt();
    progress_->setRange(0, std::max(total_steps_, 1));
    progress_->setValue(std::min(step, std::max(total_steps_, 1)));
    QString text;
    if (state_ == QLatin1String("starting")) text = tr("Starting: reading the model and the data…");
    else if (state_ == QLatin1String("running")) text = tr("Training");
    else if (state_ == QLatin1String("paused")) text = tr("Paused at step %1").arg(step);
    else if (state_ == QLatin1String("cancelling")) text = tr("Cancelling (saving a checkpoint)…");
    else if (state_ == QLatin1String("done")) text = finishedText(status.value("config").toObject(), step);
    else if (state_ == QLatin1String("cancelled")) text = tr("Cancelled at step %1").arg(step);
    else if (state_ == QLatin1String("failed")) text = tr("Failed at step %1").arg(step);
    else if (state_ == QLatin1String("stopped")) text = tr("Stopped at step %1 (its process ended without a word)").arg(step);
    else text = state_;
    state_label_->setText(text);
    const QJsonObject error = status.value("error").toObject();
    if (state_ == QLatin1String("failed") || !error.isEmpty()) {
        QString detail = error.isEmpty() ? tr("The run ended with an error.")
                                         : error.value("code").toString() + QStringLiteral(": ") +
                                               error.value("message").toString();
        const QString log = status.value("log_tail").toString().trimmed();
        if (!log.isEmpty()) detail += QStringLiteral("\n\n") + tr("The run's last messages:") + QStringLiteral("\n") + log;
        error_->showError(detail, tr("The run"));
    } else if (state_ == QLatin1String("stopped")) {
        error_->showNotice(tr("The run's process ended without finishing, cancelling or reporting an error (it was "
                              "killed, or the machine restarted). Its last checkpoint can still be exported."));
    } else {
        error_->clear();
    }
}

void RunProgressView::showLastStep(const QJsonObject& step) {
    if (step.isEmpty()) {
        stats_label_->setText(state_ == QLatin1String("starting") ? tr("The first step has not finished yet.") : QString());
        return;
    }
    QStringList parts;
    parts << tr("loss %1").arg(QString::number(step.value("total").toDouble(), 'g', 4));
    parts << tr("%1 tokens/s").arg(QLocale().toString(step.value("tokens_per_s").toDouble(), 'f', 0));
    const double eta = step.value("eta_s").toDouble(-1);
    if (state_ == QLatin1String("running") && eta >= 0) parts << tr("about %1 left").arg(format_duration(eta));
    const double elapsed = step.value("elapsed_s").toDouble(-1);
    if (elapsed >= 0) parts << tr("%1 so far").arg(format_duration(elapsed));
    stats_label_->setText(parts.join(QStringLiteral(" · ")));
}

void RunProgressView::showHistory(const TrainHistory& history) { charts_->update(history, total_steps_, eval_every_); }

void RunProgressView::enableControls() {
    const bool active = state_ == QLatin1String("running") || state_ == QLatin1String("starting");
    pause_->setEnabled(active);
    resume_->setEnabled(state_ == QLatin1String("paused"));
    cancel_->setEnabled(active || state_ == QLatin1String("paused"));
    pause_->setVisible(state_ != QLatin1String("paused"));
    resume_->setVisible(state_ == QLatin1String("paused"));
    const bool over = RunWatcher::isFinal(state_);
    export_->setEnabled(has_checkpoint_ && !exporting_);
    export_->setToolTip(has_checkpoint_ ? tr("Writes the latest checkpoint as a model folder (LoRA folded into the "
                                             "weights) and loads it into the chat")
                                        : over ? tr("This run saved no checkpoint")
                                               : tr("Available once the run has saved a checkpoint"));
}

void RunProgressView::setExportNote(const QString& text) { export_note_->setText(text); }

void RunProgressView::setExporting(bool busy) {
    exporting_ = busy;
    enableControls();
}

}  // namespace moe::ui::finetune
