#include "engine_process.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcessEnvironment>
#include <QRandomGenerator>
#include <QStandardPaths>

#include <algorithm>

#include <unistd.h>

namespace moe::ui {
namespace {

constexpr qint64 kRestartWindowMs = 60'000;
constexpr int kFirstRestartDelayMs = 500;
constexpr int kMaxRestartDelayMs = 8'000;
constexpr int kCrashReportLines = 20;

QString random_token() {
    quint32 words[8];
    QRandomGenerator::system()->fillRange(words);
    return QString::fromLatin1(QByteArray(reinterpret_cast<const char*>(words), sizeof(words)).toHex());
}

bool is_executable(const QString& path) {
    const QFileInfo info(path);
    return info.isFile() && info.isExecutable();
}

// Splits complete lines off `buf`; the incomplete tail stays for the next read.
QStringList take_lines(QByteArray& buf) {
    QStringList lines;
    qsizetype nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
        QByteArray line = buf.left(nl);
        if (line.endsWith('\r')) line.chop(1);
        lines.append(QString::fromUtf8(line));
        buf.remove(0, nl + 1);
    }
    return lines;
}

}  // namespace

EngineProcess::EngineProcess(QObject* parent) : QObject(parent), health_nam_(new QNetworkAccessManager(this)) {
    registerEngineClientMetaTypes();
    clock_.start();
    process_.setProcessChannelMode(QProcess::SeparateChannels);
    process_.setStandardInputFile(QProcess::nullDevice());
    connect(&process_, &QProcess::readyReadStandardOutput, this, &EngineProcess::onStdout);
    connect(&process_, &QProcess::readyReadStandardError, this, &EngineProcess::onStderr);
    connect(&process_, &QProcess::finished, this, &EngineProcess::onExited);
    connect(&process_, &QProcess::errorOccurred, this, &EngineProcess::onStartError);
    health_timer_.setInterval(options_.health_interval_ms);
    connect(&health_timer_, &QTimer::timeout, this, &EngineProcess::pollHealth);
    restart_timer_.setSingleShot(true);
    connect(&restart_timer_, &QTimer::timeout, this, &EngineProcess::launch);
    kill_timer_.setSingleShot(true);
    connect(&kill_timer_, &QTimer::timeout, this, [this] {
        appendLog(QStringLiteral("[workbench] the engine did not stop within %1 ms of SIGTERM; killing it")
                      .arg(options_.stop_timeout_ms));
        process_.kill();
    });
}

EngineProcess::~EngineProcess() {
    process_.disconnect(this);
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(options_.stop_timeout_ms)) {
        process_.kill();
        process_.waitForFinished(1'000);
    }
}

void EngineProcess::setOptions(const EngineProcessOptions& options) {
    options_ = options;
    health_timer_.setInterval(options_.health_interval_ms);
}

QString EngineProcess::locateEngineBinary() {
    const QString from_env = qEnvironmentVariable("MOE_ENGINE_BIN");
    if (!from_env.isEmpty() && is_executable(from_env)) return from_env;
    const QString beside = QCoreApplication::applicationDirPath() + QStringLiteral("/moe-engine");
    if (is_executable(beside)) return beside;
    return QStandardPaths::findExecutable(QStringLiteral("moe-engine"));
}

QStringList EngineProcess::arguments() const {
    QStringList args{"serve", "--port", "0", "--host", "127.0.0.1", "--exit-with-parent"};
    if (options_.model_dir.isEmpty()) args << "--demo";
    else args << "--model" << options_.model_dir;
    if (!options_.backend.isEmpty()) args << "--backend" << options_.backend;
    return args + options_.extra_args;
}

void EngineProcess::start() {
    if (isRunning()) return;
    restart_timer_.stop();  // a restart that was pending would start a second engine
    restart_times_ms_.clear();
    attempt_ = 0;
    launch();
}

void EngineProcess::launch() {
    if (isRunning()) return;
    const QString program = options_.program.isEmpty() ? locateEngineBinary() : options_.program;
    if (program.isEmpty()) {
        emit gaveUp(QStringLiteral("moe-engine was not found: set MOE_ENGINE_BIN, or put it next to %1 or on PATH")
                        .arg(QCoreApplication::applicationFilePath()));
        return;
    }
    ready_ = false;
    stopping_ = false;
    killed_as_hung_ = false;
    health_failures_ = 0;
    stdout_buf_.clear();
    stderr_buf_.clear();
    endpoint_ = EngineEndpoint{QUrl(), random_token()};
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("MOE_API_KEY"), endpoint_.api_key);  // not argv: other users can read that
    process_.setProcessEnvironment(env);
    const int nice_increment = options_.nice_increment;
    process_.setChildProcessModifier([nice_increment] {
        // In the forked child, before exec: only async-signal-safe calls here.
        if (nice_increment > 0) (void)::nice(nice_increment);
    });
    appendLog(QStringLiteral("[workbench] starting %1 %2").arg(program, arguments().join(' ')));
    process_.start(program, arguments());
}

void EngineProcess::onStdout() {
    stdout_buf_ += process_.readAllStandardOutput();
    for (const QString& line : take_lines(stdout_buf_)) {
        const QJsonObject obj = QJsonDocument::fromJson(line.toUtf8()).object();
        if (ready_ || obj.value("event") != "listening" || !obj.contains("port")) {
            appendLog(line);
            continue;
        }
        endpoint_.base = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(obj.value("port").toInt()));
        ready_ = true;
        appendLog(QStringLiteral("[workbench] engine ready at %1 (pid %2)").arg(endpoint_.base.toString()).arg(pid()));
        health_timer_.start();
        emit ready(endpoint_);
    }
}

void EngineProcess::onStderr() {
    stderr_buf_ += process_.readAllStandardError();
    for (const QString& line : take_lines(stderr_buf_)) appendLog(line);
}

void EngineProcess::appendLog(const QString& line) {
    log_.push_back(line);
    while (log_.size() > size_t(kLogLines)) log_.pop_front();
    emit logLine(line);
}

QStringList EngineProcess::recentLog() const { return QStringList(log_.begin(), log_.end()); }

QString EngineProcess::lastStderr(int lines) const {
    const auto first = log_.size() > size_t(lines) ? log_.end() - lines : log_.begin();
    return QStringList(first, log_.end()).join('\n');
}

void EngineProcess::onExited(int exit_code, QProcess::ExitStatus status) {
    health_timer_.stop();
    kill_timer_.stop();
    if (!stderr_buf_.isEmpty()) appendLog(QString::fromUtf8(stderr_buf_));
    stderr_buf_.clear();
    const bool was_ready = ready_;
    ready_ = false;
    if (stopping_) {
        stopping_ = false;
        appendLog(QStringLiteral("[workbench] engine stopped (exit status %1)").arg(exit_code));
        emit stopped();
        if (relaunch_after_stop_) {
            relaunch_after_stop_ = false;
            start();
        }
        return;
    }
    QString reason;
    if (killed_as_hung_) reason = QStringLiteral("the engine stopped answering /health and was killed");
    else if (status == QProcess::CrashExit) reason = QStringLiteral("the engine crashed (killed by a signal)");
    else if (was_ready && exit_code == kExitLostGpuContext)
        reason = QStringLiteral("the engine lost its GPU context (a CUDA fault) and exited to be restarted");
    else reason = QStringLiteral("the engine exited with status %1").arg(exit_code);
    if (!was_ready && status == QProcess::NormalExit && exit_code != 0) {
        // It refused to start (bad model directory, bad flags): starting again changes nothing.
        emit crashed(reason + QStringLiteral(" before it was ready"), lastStderr(kCrashReportLines));
        emit gaveUp(reason + QStringLiteral(" before it was ready:\n") + lastStderr(kCrashReportLines));
        return;
    }
    handleCrash(reason);
}

void EngineProcess::onStartError(QProcess::ProcessError error) {
    if (error != QProcess::FailedToStart) return;  // crashes arrive through finished()
    emit gaveUp(QStringLiteral("cannot start %1: %2").arg(process_.program(), process_.errorString()));
}

void EngineProcess::handleCrash(const QString& reason) {
    appendLog(QStringLiteral("[workbench] %1").arg(reason));
    emit crashed(reason, lastStderr(kCrashReportLines));
    const qint64 now = clock_.elapsed();
    while (!restart_times_ms_.empty() && now - restart_times_ms_.front() > kRestartWindowMs) restart_times_ms_.pop_front();
    if (int(restart_times_ms_.size()) >= options_.max_restarts_per_minute) {
        emit gaveUp(QStringLiteral("%1; it was restarted %2 times within a minute, giving up")
                        .arg(reason)
                        .arg(restart_times_ms_.size()));
        return;
    }
    restart_times_ms_.push_back(now);
    attempt_ = int(restart_times_ms_.size());
    const int delay = std::min(kFirstRestartDelayMs << (attempt_ - 1), kMaxRestartDelayMs);
    appendLog(QStringLiteral("[workbench] restarting the engine in %1 ms (attempt %2)").arg(delay).arg(attempt_));
    emit restarting(attempt_);
    restart_timer_.start(delay);
}

void EngineProcess::pollHealth() {
    if (!ready_ || health_in_flight_) return;
    QNetworkRequest req(QUrl(endpoint_.base.toString() + QStringLiteral("/health")));
    req.setTransferTimeout(std::max(500, options_.health_interval_ms));
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    health_in_flight_ = true;
    QNetworkReply* reply = health_nam_->get(req);
    const qint64 pid_at_poll = pid();
    connect(reply, &QNetworkReply::finished, this, [this, reply, pid_at_poll] {
        reply->deleteLater();
        health_in_flight_ = false;
        if (!ready_ || pid() != pid_at_poll) return;  // an answer about a process that is gone
        if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).isValid()) {
            health_failures_ = 0;
            return;
        }
        ++health_failures_;
        appendLog(QStringLiteral("[workbench] GET %1 failed (%2 of %3): %4")
                      .arg(reply->url().toString())
                      .arg(health_failures_)
                      .arg(options_.health_failures_to_kill)
                      .arg(reply->errorString()));
        if (health_failures_ >= options_.health_failures_to_kill) {
            killed_as_hung_ = true;
            process_.kill();
        }
    });
}

void EngineProcess::stop() {
    restart_timer_.stop();
    health_timer_.stop();
    if (!isRunning()) {
        ready_ = false;
        emit stopped();  // nothing ran (or a restart was pending): stopped all the same
        return;
    }
    stopping_ = true;
    process_.terminate();  // SIGTERM: the engine cancels generations and exits 0
    kill_timer_.start(options_.stop_timeout_ms);
}

void EngineProcess::restart() {
    if (!isRunning()) {
        restart_timer_.stop();
        start();
        return;
    }
    relaunch_after_stop_ = true;
    stop();
}

}  // namespace moe::ui
