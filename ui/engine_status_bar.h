// The status bar's engine fields: model, backend, GPU memory (and process RAM), tokens/s, the
// acceptance of speculative decoding once a reply used it, and the connection state, fed only from what the EngineClient reports (/v1/models, /health, telemetry).
// A field the server does not report says so instead of guessing.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>

class QLabel;
class QStatusBar;

namespace moe::ui {

class EngineClient;

class EngineStatusBar : public QObject {
    Q_OBJECT
public:
    EngineStatusBar(EngineClient* client, QStatusBar* bar);

    void setConnectionText(const QString& text);  // "local engine (pid 42)", "connecting…"
    QString modelText() const;
    QString speedText() const;
    QString memoryText() const;
    QString connectionText() const;
    QString backendText() const;
    QString speculationText() const;  // "" (and hidden) until a reply decoded speculatively
    // The "speculative" object of a telemetry snapshot (or a GET /workbench/v1/speculative answer).
    void setSpeculation(const QJsonObject& speculative);

private:
    void onModels(const QJsonArray& models);
    void onHealth(const QJsonObject& health);
    void onTelemetry(const QJsonObject& snapshot);
    void onReachable(bool reachable);

    QLabel* model_;
    QLabel* backend_;
    QLabel* memory_;
    QLabel* speed_;
    QLabel* speculation_;
    QLabel* connection_;
    QString where_;
    bool reachable_ = false;
};

}  // namespace moe::ui
