// EngineProcess: the workbench's own `moe-engine serve`, started, watched and restarted.
//
//   moe-engine serve --port 0 --host 127.0.0.1 --exit-with-parent (--model DIR | --demo) [--backend B]
//
// runs with a random bearer token in MOE_API_KEY (never on the command line, which `ps` shows);
// its {"event":"listening","port":N} stdout line gives the endpoint (ready). It is watched two ways:
// the process exiting, and GET /health every few seconds (a hung engine is killed). A crash emits
// crashed(reason, last stderr lines) and restarts it with backoff, at most maxRestartsPerMinute
// times a minute; then gaveUp. stderr is kept in a ring buffer for the log view (logLine).
#pragma once

#include <QByteArray>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QVector>

#include <deque>

#include "engine_client.h"

class QNetworkAccessManager;

namespace moe::ui {

// serve's exit status after a CUDA error lost the GPU context (engine/core/device_fault.h): a crash
// like any other (restarted, the model loaded again), named as such.
inline constexpr int kExitLostGpuContext = 3;

struct EngineProcessOptions {
    QString model_dir;             // "" = the embedded demo model (serve --demo)
    QString backend;               // "" = the engine's default (auto)
    QStringList extra_args;        // more serve flags (--ctx N, --test-token-delay-ms N, ...)
    QString program;               // "" = locateEngineBinary()
    int max_restarts_per_minute = 5;
    int health_interval_ms = 2'000;
    int health_failures_to_kill = 3;  // consecutive unanswered /health polls that mean "hung"
    int stop_timeout_ms = 5'000;      // SIGTERM, then SIGKILL after this
    // The engine runs at a lower CPU priority (nice +N): on a machine with few cores a CPU decode
    // keeps every core busy, and the window must still win the CPU when it needs it (the GUI thread
    // needs little, but needs it on time). 0 keeps the app's priority.
    int nice_increment = 5;
};

class EngineProcess : public QObject {
    Q_OBJECT
public:
    explicit EngineProcess(QObject* parent = nullptr);
    ~EngineProcess() override;  // stops the engine (SIGTERM, then SIGKILL), waiting at most stop_timeout_ms

    void setOptions(const EngineProcessOptions& options);
    EngineProcessOptions options() const { return options_; }

    void start();    // no-op while running; resets the restart budget
    void stop();     // SIGTERM, SIGKILL after stop_timeout_ms; emits stopped() when it has exited
    void restart();  // stop, then start again (a new model or backend)

    bool isReady() const { return ready_; }
    bool isRunning() const { return process_.state() != QProcess::NotRunning; }
    qint64 pid() const { return process_.processId(); }
    EngineEndpoint endpoint() const { return endpoint_; }
    QStringList recentLog() const;  // the ring buffer, oldest first

    // MOE_ENGINE_BIN, then moe-engine next to the running executable, then PATH. "" if none.
    static QString locateEngineBinary();
    static constexpr int kLogLines = 2'000;

signals:
    void ready(const moe::ui::EngineEndpoint& endpoint);
    void crashed(const QString& reason, const QString& last_stderr_lines);
    void restarting(int attempt);
    void gaveUp(const QString& reason);  // start failed for good or restarts exhausted
    void stopped();
    void logLine(const QString& line);

private:
    void launch();
    void onStdout();
    void onStderr();
    void onExited(int exit_code, QProcess::ExitStatus status);
    void onStartError(QProcess::ProcessError error);
    void pollHealth();
    void handleCrash(const QString& reason);
    void appendLog(const QString& line);
    QString lastStderr(int lines) const;
    QStringList arguments() const;

    EngineProcessOptions options_;
    QProcess process_;
    QNetworkAccessManager* health_nam_;
    QTimer health_timer_;
    QTimer restart_timer_;
    QTimer kill_timer_;
    EngineEndpoint endpoint_;
    QByteArray stdout_buf_;
    QByteArray stderr_buf_;
    std::deque<QString> log_;
    std::deque<qint64> restart_times_ms_;  // restarts within the last minute (monotonic clock)
    QElapsedTimer clock_;
    bool ready_ = false;
    bool stopping_ = false;
    bool killed_as_hung_ = false;
    int health_failures_ = 0;
    int attempt_ = 0;
    bool health_in_flight_ = false;
    bool relaunch_after_stop_ = false;
};

}  // namespace moe::ui
