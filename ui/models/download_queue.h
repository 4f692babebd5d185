// DownloadQueue: the repository downloads the user asked for, each run as its own
// `moe-engine download REPO --revision SHA --json` child. At most maxParallel() run at once (the
// rest wait as Queued). Pause = SIGTERM (the downloader keeps its resumable .incomplete blobs and
// exits 130); resume = start it again (it continues with HTTP Range); cancel = SIGTERM, then remove
// that repository's .incomplete blobs once the child is gone; retry = queue a failed one again.
#pragma once

#include <QList>
#include <QObject>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <map>

#include "models/download_state.h"

namespace moe::ui::models {

class EngineCommand;

struct DownloadJob {
    int id = 0;
    QString repo;
    QString revision;      // a commit sha when the user opened the repository first
    QStringList includes;  // --include patterns; empty = the engine's default selection
    DownloadState state = DownloadState::Queued;
    qint64 bytes_done = 0, bytes_total = 0;
    qint64 resumed_from = 0;  // bytes already on disk when the latest run started (resume)
    double speed_bps = 0, eta_s = -1;
    QString current_file;
    int files_total = 0, files_done = 0;
    QString note;      // transient: a retry in progress, waiting for another process's lock
    QString error;     // for Failed (and a failed cleanup after Cancel)
    QString snapshot;  // for Done: the snapshot directory
    QString cache_root;  // where its latest run wrote (settings may change between runs)
    EngineCommand* process = nullptr;  // alive from Start until the child exits
};

class DownloadQueue : public QObject {
    Q_OBJECT
public:
    explicit DownloadQueue(QObject* parent = nullptr);
    ~DownloadQueue() override;

    // program = moe-engine; environment = the hub settings' environment; cache_root = where the
    // child will put models--org--name (for removing .incomplete blobs on cancel).
    void setEngine(const QString& program, const QProcessEnvironment& environment, const QString& cache_dir_arg,
                   const QString& cache_root);
    void setMaxParallel(int n);
    int maxParallel() const { return max_parallel_; }

    // Adds a download (or returns the id of the live one for the same repository). -1 with
    // *error set when the repository id is not a valid hub id.
    int enqueue(const QString& repo, const QString& revision, const QStringList& includes, QString* error = nullptr);
    bool pause(int id);
    bool resume(int id);
    bool cancel(int id);
    bool retry(int id);
    bool canApply(int id, DownloadEvent event) const;

    const DownloadJob* job(int id) const;
    QList<int> ids() const;  // in the order they were added
    int runningCount() const;

signals:
    void jobAdded(int id);
    void jobChanged(int id);
    void jobFinished(int id, const QString& snapshot_dir);

private:
    bool apply(DownloadJob& job, DownloadEvent event);
    void schedule();
    void startJob(DownloadJob& job);
    void onJson(int id, const QJsonObject& object);
    void onProgress(DownloadJob& job, const QJsonObject& object);
    void onExited(int id, int exit_code, bool crashed, const QString& stderr_tail);
    void removeIncompleteBlobs(DownloadJob& job);

    std::map<int, DownloadJob> jobs_;
    QList<int> order_;
    int next_id_ = 1;
    int max_parallel_ = 1;
    QString program_;
    QProcessEnvironment environment_;
    QString cache_dir_arg_;
    QString cache_root_;
};

}  // namespace moe::ui::models
