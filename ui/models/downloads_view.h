// DownloadsView: the DownloadQueue as a table — one row per repository with a progress bar,
// bytes done/total, speed, ETA, state (with the error message of a failed one) and
// pause / resume / cancel / retry buttons enabled by what the state machine allows.
#pragma once

#include <QWidget>

class QTableWidget;

namespace moe::ui::models {

class DownloadQueue;

class DownloadsView : public QWidget {
    Q_OBJECT
public:
    DownloadsView(DownloadQueue* queue, QWidget* parent = nullptr);

    int rowOf(int job_id) const;  // -1 when not shown
    QString stateText(int job_id) const;

private:
    void addRow(int job_id);
    void updateRow(int job_id);

    DownloadQueue* queue_;
    QTableWidget* table_;
};

}  // namespace moe::ui::models
