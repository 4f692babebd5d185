#include "models/engine_command.h"

#include <QFileInfo>

namespace moe::ui::models {

namespace {
constexpr qsizetype kStderrTailBytes = 4096;
constexpr int kTerminateGraceMs = 2000;
}  // namespace

EngineCommand::EngineCommand(const QString& program, const QStringList& arguments,
                             const QProcessEnvironment& environment, QObject* parent)
    : QObject(parent) {
    process_.setProgram(program);
    process_.setArguments(arguments);
    process_.setProcessEnvironment(environment);
    connect(&process_, &QProcess::readyReadStandardOutput, this, &EngineCommand::readStdout);
    connect(&process_, &QProcess::readyReadStandardError, this, &EngineCommand::readStderr);
    connect(&process_, &QProcess::finished, this, &EngineCommand::onFinished);
    connect(&process_, &QProcess::errorOccurred, this, &EngineCommand::onError);
}

EngineCommand::~EngineCommand() {
    process_.disconnect(this);
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(kTerminateGraceMs)) {
        process_.kill();
        process_.waitForFinished(kTerminateGraceMs);
    }
}

void EngineCommand::start() { process_.start(); }

void EngineCommand::terminate() {
    if (process_.state() != QProcess::NotRunning) process_.terminate();
}

bool EngineCommand::isRunning() const { return process_.state() != QProcess::NotRunning; }

QString EngineCommand::commandLine() const {
    QStringList parts{QFileInfo(process_.program()).fileName()};
    for (const QString& arg : process_.arguments()) parts << arg;
    return parts.join(QLatin1Char(' '));
}

void EngineCommand::readStdout() { deliver(stdout_lines_.feed(process_.readAllStandardOutput())); }

void EngineCommand::readStderr() {
    stderr_tail_.append(process_.readAllStandardError());
    if (stderr_tail_.size() > kStderrTailBytes) stderr_tail_ = stderr_tail_.right(kStderrTailBytes);
}

void EngineCommand::deliver(const QList<JsonLine>& lines) {
    for (const JsonLine& line : lines) {
        if (line.error.isEmpty()) emit jsonReceived(line.object);
        else emit badLine(QStringLiteral("%1: %2").arg(commandLine(), line.error));
    }
}

void EngineCommand::onFinished(int exit_code, QProcess::ExitStatus status) {
    readStdout();
    deliver(stdout_lines_.finish());
    readStderr();
    if (finished_emitted_) return;
    finished_emitted_ = true;
    emit finished(exit_code, status == QProcess::CrashExit, QString::fromUtf8(stderr_tail_).trimmed());
}

void EngineCommand::onError(QProcess::ProcessError error) {
    // Only a failed start ends the process without QProcess::finished; the other errors are followed by it.
    if (error != QProcess::FailedToStart || finished_emitted_) return;
    finished_emitted_ = true;
    emit finished(-1, true, QStringLiteral("cannot start %1: %2").arg(process_.program(), process_.errorString()));
}

QString engine_error_message(const QJsonObject& object) {
    // The engine's messages already end in "[code]": adding "(code)" again read "[hub.network] (hub.network)".
    const auto with_code = [](const QString& code, const QString& message) {
        if (code.isEmpty() || message.contains(code)) return message;
        return message.isEmpty() ? code : QStringLiteral("%1 [%2]").arg(message, code);
    };
    if (object.value(QStringLiteral("event")).toString() == QLatin1String("error"))
        return with_code(object.value(QStringLiteral("code")).toString(), object.value(QStringLiteral("message")).toString());
    const QJsonValue error = object.value(QStringLiteral("error"));
    if (error.isString()) return error.toString();
    if (error.isObject()) {
        const QJsonObject e = error.toObject();
        return with_code(e.value(QStringLiteral("code")).toString(), e.value(QStringLiteral("message")).toString());
    }
    return {};
}

}  // namespace moe::ui::models
