// Which engine the workbench talks to: its own managed `moe-engine serve` (EngineProcess: started,
// watched, restarted) or any OpenAI-compatible server given by URL and API key. Points the shared
// EngineClient at it and starts the model list, health and telemetry; reports every change of state
// (connecting, ready, crashed, restarting, gave up) so the window can show it.
#pragma once

#include <QObject>
#include <QString>

#include "engine_client.h"
#include "engine_process.h"

namespace moe::ui {

class EngineConnection : public QObject {
    Q_OBJECT
public:
    enum class Mode { Managed, Remote };

    EngineConnection(EngineClient* client, QObject* parent = nullptr);

    Mode mode() const { return mode_; }
    EngineProcess* process() const { return process_; }
    EngineClient* client() const { return client_; }
    QString describe() const;  // "local engine (pid 1234)" / "http://host:8000"

    void useManaged(const EngineProcessOptions& options);
    void useRemote(const QUrl& base, const QString& api_key);
    void restartManaged();

signals:
    void connecting(const QString& what);
    void ready(const QString& what);
    void engineCrashed(const QString& reason, const QString& stderr_tail);
    void engineRestarting(int attempt);
    void engineGaveUp(const QString& reason);
    void logLine(const QString& line);

private:
    void attach(const EngineEndpoint& endpoint);

    EngineClient* client_;
    EngineProcess* process_;
    Mode mode_ = Mode::Managed;
};

}  // namespace moe::ui
