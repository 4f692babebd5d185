#include "models/download_queue.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>

#include "models/engine_command.h"
#include "models/hub_settings.h"

namespace moe::ui::models {

DownloadQueue::DownloadQueue(QObject* parent) : QObject(parent) {}

// The EngineCommand children stop their downloads (SIGTERM, resumable) as QObject children go.
DownloadQueue::~DownloadQueue() = default;

void DownloadQueue::setEngine(const QString& program, const QProcessEnvironment& environment,
                              const QString& cache_dir_arg, const QString& cache_root) {
    program_ = program;
    environment_ = environment;
    cache_dir_arg_ = cache_dir_arg;
    cache_root_ = cache_root;
}

void DownloadQueue::setMaxParallel(int n) {
    max_parallel_ = std::max(1, n);
    schedule();
}

int DownloadQueue::enqueue(const QString& repo, const QString& revision, const QStringList& includes, QString* error) {
    if (!is_valid_repo_id(repo)) {
        if (error) *error = QStringLiteral("\"%1\" is not a hub repository id (expected org/name)").arg(repo);
        return -1;
    }
    for (int id : order_) {
        const DownloadJob& existing = jobs_.at(id);
        if (existing.repo == repo && is_active(existing.state)) return id;
    }
    DownloadJob job;
    job.id = next_id_++;
    job.repo = repo;
    job.revision = revision;
    job.includes = includes;
    jobs_[job.id] = job;
    order_.append(job.id);
    emit jobAdded(job.id);
    schedule();
    return job.id;
}

bool DownloadQueue::canApply(int id, DownloadEvent event) const {
    const DownloadJob* j = job(id);
    return j && next_state(j->state, event).has_value();
}

bool DownloadQueue::apply(DownloadJob& job, DownloadEvent event) {
    const std::optional<DownloadState> next = next_state(job.state, event);
    if (!next) return false;
    job.state = *next;
    return true;
}

bool DownloadQueue::pause(int id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !apply(it->second, DownloadEvent::Pause)) return false;
    DownloadJob& j = it->second;
    if (j.process) j.process->terminate();
    j.speed_bps = 0;
    j.eta_s = -1;
    emit jobChanged(id);
    schedule();
    return true;
}

bool DownloadQueue::resume(int id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !apply(it->second, DownloadEvent::Resume)) return false;
    emit jobChanged(id);
    schedule();
    return true;
}

bool DownloadQueue::cancel(int id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !apply(it->second, DownloadEvent::Cancel)) return false;
    DownloadJob& j = it->second;
    if (j.process) j.process->terminate();  // blobs go once the child has exited (onExited)
    else removeIncompleteBlobs(j);
    j.speed_bps = 0;
    j.eta_s = -1;
    emit jobChanged(id);
    schedule();
    return true;
}

bool DownloadQueue::retry(int id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || !apply(it->second, DownloadEvent::Retry)) return false;
    it->second.error.clear();
    emit jobChanged(id);
    schedule();
    return true;
}

const DownloadJob* DownloadQueue::job(int id) const {
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : &it->second;
}

QList<int> DownloadQueue::ids() const { return order_; }

int DownloadQueue::runningCount() const {
    int n = 0;
    for (const auto& [id, j] : jobs_) n += j.process != nullptr;
    return n;
}

void DownloadQueue::schedule() {
    for (int id : order_) {
        if (runningCount() >= max_parallel_) return;
        DownloadJob& j = jobs_.at(id);
        // A job whose previous child has not exited yet waits: one writer per blob.
        if (j.state == DownloadState::Queued && !j.process) startJob(j);
    }
}

void DownloadQueue::startJob(DownloadJob& job) {
    QStringList args{QStringLiteral("download"), job.repo, QStringLiteral("--json")};
    if (!job.revision.isEmpty()) args << QStringLiteral("--revision") << job.revision;
    for (const QString& pattern : job.includes) args << QStringLiteral("--include") << pattern;
    if (!cache_dir_arg_.isEmpty()) args << QStringLiteral("--cache-dir") << cache_dir_arg_;

    apply(job, DownloadEvent::Start);
    job.cache_root = cache_root_;
    job.error.clear();
    job.note.clear();
    job.speed_bps = 0;
    job.eta_s = -1;
    const int id = job.id;
    job.process = new EngineCommand(program_, args, environment_, this);
    connect(job.process, &EngineCommand::jsonReceived, this, [this, id](const QJsonObject& o) { onJson(id, o); });
    connect(job.process, &EngineCommand::badLine, this, [this, id](const QString& message) {
        jobs_.at(id).error = message;  // shown, not fatal: the next line may be fine
        emit jobChanged(id);
    });
    connect(job.process, &EngineCommand::finished, this,
            [this, id](int code, bool crashed, const QString& tail) { onExited(id, code, crashed, tail); });
    emit jobChanged(id);
    job.process->start();
}

void DownloadQueue::onJson(int id, const QJsonObject& object) {
    DownloadJob& j = jobs_.at(id);
    const QString event = object.value(QStringLiteral("event")).toString();
    if (event == QLatin1String("resolved")) {
        j.revision = object.value(QStringLiteral("revision")).toString(j.revision);
        j.bytes_total = object.value(QStringLiteral("total_bytes")).toInteger();
        j.bytes_done = j.resumed_from = object.value(QStringLiteral("already_bytes")).toInteger();
        j.files_total = static_cast<int>(object.value(QStringLiteral("files")).toArray().size());
        j.files_done = 0;
    } else if (event == QLatin1String("progress")) {
        onProgress(j, object);
    } else if (event == QLatin1String("file_done")) {
        ++j.files_done;
    } else if (event == QLatin1String("waiting")) {
        j.note = QStringLiteral("waiting for %1: %2").arg(object.value(QStringLiteral("file")).toString(),
                                                           object.value(QStringLiteral("reason")).toString());
    } else if (event == QLatin1String("retry")) {
        j.note = QStringLiteral("retrying %1 (attempt %2, in %3 s): %4")
                      .arg(object.value(QStringLiteral("file")).toString())
                      .arg(object.value(QStringLiteral("attempt")).toInt())
                      .arg(object.value(QStringLiteral("wait_s")).toDouble())
                      .arg(object.value(QStringLiteral("reason")).toString());
    } else if (event == QLatin1String("done")) {
        j.snapshot = object.value(QStringLiteral("snapshot")).toString();
        j.bytes_done = j.bytes_total;
        j.error.clear();
        if (apply(j, DownloadEvent::Finished) && j.state == DownloadState::Done) emit jobFinished(id, j.snapshot);
    } else if (event == QLatin1String("error")) {
        j.error = engine_error_message(object);
        apply(j, DownloadEvent::Error);
    } else {
        return;  // "stopped" and future events: nothing to show
    }
    emit jobChanged(id);
}

void DownloadQueue::onProgress(DownloadJob& job, const QJsonObject& object) {
    job.current_file = object.value(QStringLiteral("file")).toString();
    job.bytes_done = object.value(QStringLiteral("overall_bytes")).toInteger();
    job.bytes_total = object.value(QStringLiteral("overall_total")).toInteger(job.bytes_total);
    job.speed_bps = object.value(QStringLiteral("speed_bps")).toDouble();
    job.eta_s = object.value(QStringLiteral("eta_s")).toDouble(-1);
    job.note.clear();
    if (job.bytes_total > 0 && job.bytes_done >= job.bytes_total) apply(job, DownloadEvent::AllBytesReceived);
}

void DownloadQueue::onExited(int id, int exit_code, bool crashed, const QString& stderr_tail) {
    DownloadJob& j = jobs_.at(id);
    j.process->deleteLater();
    j.process = nullptr;
    const bool unexpected = j.state == DownloadState::Downloading || j.state == DownloadState::Verifying;
    apply(j, DownloadEvent::Exited);
    if (unexpected) {
        j.error = QStringLiteral("moe-engine download %1 %2 without finishing%3")
                      .arg(j.repo, crashed ? QStringLiteral("crashed") : QStringLiteral("exited with code %1").arg(exit_code),
                           stderr_tail.isEmpty() ? QString() : QStringLiteral(": ") + stderr_tail);
    }
    if (j.state == DownloadState::Cancelled) removeIncompleteBlobs(j);
    j.speed_bps = 0;
    j.eta_s = -1;
    j.note.clear();
    emit jobChanged(id);
    schedule();
}

void DownloadQueue::removeIncompleteBlobs(DownloadJob& job) {
    const QString folder = repo_cache_folder(job.cache_root.isEmpty() ? cache_root_ : job.cache_root, job.repo);
    if (folder.isEmpty()) return;
    QDir blobs(QDir(folder).filePath(QStringLiteral("blobs")));
    const QStringList partial = blobs.entryList({QStringLiteral("*.incomplete")}, QDir::Files | QDir::Hidden);
    for (const QString& name : partial) {
        const QString path = blobs.filePath(name);
        if (!QFile::remove(path)) job.error = QStringLiteral("cannot remove the partial download %1").arg(path);
    }
    job.bytes_done = 0;
}

}  // namespace moe::ui::models
