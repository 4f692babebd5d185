// EngineCommand: one `moe-engine … --json` child run through QProcess signals only (the GUI thread
// never waits on it). stdout is parsed line by line into JSON objects as it arrives; the tail of
// stderr is kept for the error message when the child fails without saying why on stdout.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include "models/json_lines.h"

namespace moe::ui::models {

class EngineCommand : public QObject {
    Q_OBJECT
public:
    EngineCommand(const QString& program, const QStringList& arguments, const QProcessEnvironment& environment,
                  QObject* parent = nullptr);
    // A still-running child gets SIGTERM and a short grace period, then SIGKILL: the downloader
    // keeps resumable state either way.
    ~EngineCommand() override;

    void start();
    void terminate();  // SIGTERM: the downloader answers {"event":"stopped"} and exits 130
    bool isRunning() const;
    QString commandLine() const;  // for messages: "moe-engine hub search …"

signals:
    void jsonReceived(const QJsonObject& object);
    void badLine(const QString& message);
    // Always emitted exactly once, also when the program could not be started (exit_code -1).
    void finished(int exit_code, bool crashed, const QString& stderr_tail);

private:
    void readStdout();
    void readStderr();
    void onFinished(int exit_code, QProcess::ExitStatus status);
    void onError(QProcess::ProcessError error);
    void deliver(const QList<JsonLine>& lines);

    QProcess process_;
    JsonLineBuffer stdout_lines_;
    QByteArray stderr_tail_;
    bool finished_emitted_ = false;
};

// The `error` a child reported: {"event":"error","code","message"} or {"error":{"code","message"}}
// or {"error":"text"}; "" when the object is not an error report.
QString engine_error_message(const QJsonObject& object);

}  // namespace moe::ui::models
