#include "engine_connection.h"

namespace moe::ui {

namespace {
constexpr int kTelemetryIntervalMs = 250;  // the status bar and live heatmaps; the GUI replots at ~30 Hz
}

EngineConnection::EngineConnection(EngineClient* client, QObject* parent)
    : QObject(parent), client_(client), process_(new EngineProcess(this)) {
    connect(process_, &EngineProcess::ready, this, [this](const EngineEndpoint& endpoint) {
        if (mode_ != Mode::Managed) return;
        attach(endpoint);
        emit ready(describe());
    });
    connect(process_, &EngineProcess::crashed, this, &EngineConnection::engineCrashed);
    connect(process_, &EngineProcess::restarting, this, &EngineConnection::engineRestarting);
    connect(process_, &EngineProcess::gaveUp, this, &EngineConnection::engineGaveUp);
    connect(process_, &EngineProcess::logLine, this, &EngineConnection::logLine);
}

QString EngineConnection::describe() const {
    if (mode_ == Mode::Remote) return client_->endpoint().base.toString();
    if (process_->isRunning()) return tr("local engine (pid %1)").arg(process_->pid());
    return tr("local engine");
}

void EngineConnection::attach(const EngineEndpoint& endpoint) {
    client_->setEndpoint(endpoint);
    client_->refreshModels();
    client_->refreshHealth();
    client_->startTelemetry(kTelemetryIntervalMs);
}

void EngineConnection::useManaged(const EngineProcessOptions& options) {
    mode_ = Mode::Managed;
    client_->stopTelemetry();
    process_->setOptions(options);
    emit connecting(options.model_dir.isEmpty() ? tr("starting the local engine with the demo model")
                                                : tr("starting the local engine with %1").arg(options.model_dir));
    if (process_->isRunning()) process_->restart();
    else process_->start();
}

void EngineConnection::useRemote(const QUrl& base, const QString& api_key) {
    mode_ = Mode::Remote;
    client_->stopTelemetry();
    if (process_->isRunning()) process_->stop();  // frees its memory; Connection > Local engine starts it again
    emit connecting(tr("connecting to %1").arg(base.toString()));
    attach(EngineEndpoint{base, api_key});
    emit ready(describe());
}

void EngineConnection::restartManaged() {
    if (mode_ != Mode::Managed) return;
    emit connecting(tr("restarting the local engine"));
    if (process_->isRunning()) process_->restart();
    else process_->start();
}

}  // namespace moe::ui
