#include "models/downloads_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include "models/download_queue.h"
#include "user_error.h"
#include "format.h"
#include "models/table_setup.h"

namespace moe::ui::models {

namespace {

enum Column { kRepo, kProgress, kBytes, kSpeed, kEta, kState, kButtons, kColumns };
constexpr int kJobIdRole = Qt::UserRole + 1;

struct Action {
    const char* name;
    DownloadEvent event;
    bool (DownloadQueue::*run)(int);
};
constexpr Action kActions[] = {
    {"Pause", DownloadEvent::Pause, &DownloadQueue::pause},
    {"Resume", DownloadEvent::Resume, &DownloadQueue::resume},
    {"Cancel", DownloadEvent::Cancel, &DownloadQueue::cancel},
    {"Retry", DownloadEvent::Retry, &DownloadQueue::retry},
};

}  // namespace

DownloadsView::DownloadsView(DownloadQueue* queue, QWidget* parent) : QWidget(parent), queue_(queue) {
    table_ = make_read_only_table({QStringLiteral("Repository"), QStringLiteral("Progress"), QStringLiteral("Bytes"),
                                   QStringLiteral("Speed"), QStringLiteral("ETA"), QStringLiteral("State"), QString()},
                                  kState, this);
    for (int column : {kRepo, kBytes, kSpeed, kEta}) table_->horizontalHeader()->setSectionResizeMode(column, QHeaderView::ResizeToContents);
    auto* parallel = new QSpinBox(this);
    parallel->setRange(1, 2);  // more would only split the same bandwidth and disk
    parallel->setValue(queue_->maxParallel());
    parallel->setToolTip(QStringLiteral("Repositories downloaded at the same time; the rest wait in the queue"));
    connect(parallel, &QSpinBox::valueChanged, queue_, &DownloadQueue::setMaxParallel);
    auto* bar = new QHBoxLayout;
    bar->addStretch(1);
    bar->addWidget(new QLabel(QStringLiteral("At the same time"), this));
    bar->addWidget(parallel);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(table_);
    connect(queue_, &DownloadQueue::jobAdded, this, &DownloadsView::addRow);
    connect(queue_, &DownloadQueue::jobChanged, this, &DownloadsView::updateRow);
    for (int id : queue_->ids()) addRow(id);
}

int DownloadsView::rowOf(int job_id) const {
    for (int row = 0; row < table_->rowCount(); ++row)
        if (table_->item(row, kRepo)->data(kJobIdRole).toInt() == job_id) return row;
    return -1;
}

QString DownloadsView::stateText(int job_id) const {
    const int row = rowOf(job_id);
    return row < 0 ? QString() : table_->item(row, kState)->text();
}

void DownloadsView::addRow(int job_id) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    auto* repo = new QTableWidgetItem(queue_->job(job_id)->repo);
    repo->setData(kJobIdRole, job_id);
    table_->setItem(row, kRepo, repo);
    auto* bar = new QProgressBar(table_);
    bar->setRange(0, 1000);  // per mille: byte counts overflow int
    table_->setCellWidget(row, kProgress, bar);
    for (int column : {kBytes, kSpeed, kEta, kState}) table_->setItem(row, column, new QTableWidgetItem);

    auto* actions = new QWidget(table_);
    auto* buttons = new QHBoxLayout(actions);
    buttons->setContentsMargins(0, 0, 0, 0);
    for (const Action& action : kActions) {
        auto* button = new QPushButton(QLatin1String(action.name), actions);
        button->setObjectName(QLatin1String(action.name));
        connect(button, &QPushButton::clicked, this, [this, job_id, run = action.run] { (queue_->*run)(job_id); });
        buttons->addWidget(button);
    }
    table_->setCellWidget(row, kButtons, actions);
    updateRow(job_id);
    table_->resizeColumnToContents(kButtons);
}

void DownloadsView::updateRow(int job_id) {
    const int row = rowOf(job_id);
    const DownloadJob* job = queue_->job(job_id);
    if (row < 0 || !job) return;
    auto* bar = static_cast<QProgressBar*>(table_->cellWidget(row, kProgress));
    const bool known = job->bytes_total > 0;
    bar->setValue(known ? static_cast<int>(1000.0 * static_cast<double>(job->bytes_done) / static_cast<double>(job->bytes_total)) : 0);
    bar->setFormat(known ? QStringLiteral("%1%").arg(100.0 * static_cast<double>(job->bytes_done) / static_cast<double>(job->bytes_total), 0, 'f', 1)
                         : QString());
    table_->item(row, kBytes)->setText(known ? QStringLiteral("%1 / %2").arg(format_bytes(job->bytes_done), format_bytes(job->bytes_total))
                                             : QString());
    const bool moving = job->state == DownloadState::Downloading;
    table_->item(row, kSpeed)->setText(moving ? format_speed(job->speed_bps) : QString());
    table_->item(row, kEta)->setText(moving ? format_duration(job->eta_s) : QString());

    QString state = state_name(job->state);
    if (job->state == DownloadState::Downloading && job->files_total > 0)
        state += QStringLiteral(" (%1/%2 files) %3").arg(job->files_done).arg(job->files_total).arg(job->current_file);
    if (job->state == DownloadState::Downloading && job->resumed_from > 0)
        state += QStringLiteral(", resumed at %1").arg(format_bytes(job->resumed_from));
    if (job->state == DownloadState::Done) state += QStringLiteral(": ") + job->snapshot;
    if (!job->note.isEmpty()) state += QStringLiteral(" — ") + job->note;
    QString tooltip;
    if (!job->error.isEmpty()) {
        // Plain words in the cell; the engine's own message (codes, URLs) one hover away.
        state += QStringLiteral(": ") + explainError(job->error).text();
        tooltip = tr("%1\n\nDetails: %2").arg(state, job->error);
    }
    QTableWidgetItem* state_item = table_->item(row, kState);
    state_item->setText(state);
    state_item->setToolTip(tooltip.isEmpty() ? state : tooltip);
    state_item->setForeground(job->state == DownloadState::Failed ? QColor(0xc6, 0x28, 0x28) : QColor());

    QWidget* actions = table_->cellWidget(row, kButtons);
    for (const Action& action : kActions)
        if (auto* button = actions->findChild<QPushButton*>(QLatin1String(action.name)))
            button->setEnabled(queue_->canApply(job_id, action.event));
}

}  // namespace moe::ui::models
