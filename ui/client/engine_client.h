// EngineClient: the workbench's only way to talk to an engine — our own `moe-engine serve` or any
// OpenAI-compatible server (vLLM, SGLang). Everything is asynchronous (QNetworkAccessManager on the
// GUI thread's event loop, never a blocking wait); results arrive as signals.
//
// CONTRACT shared by ui/chat, ui/routing and ui/models: names and meanings below are fixed; the
// implementation (ui/client/engine_client.cpp) may add members but not change these.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QUrl>
#include <QVector>

#include <cstdint>

class QNetworkAccessManager;

namespace moe::ui {

// Where an engine listens. base = "http://127.0.0.1:PORT" (no trailing /v1).
struct EngineEndpoint {
    QUrl base;
    QString api_key;  // sent as "Authorization: Bearer KEY" when not empty
};

// The routed experts of one request, decoded from SGLang's layout (docs/api.md "Routed experts").
// ids[(t * layers + l) * top_k + k]; dense layers hold -1. weights has the same shape when the server
// sent them (our engine does; SGLang does not: then empty). Row t is the t-th token of
// prompt + completion, starting at start_len.
struct RoutedExperts {
    int tokens = 0;
    int layers = 0;
    int top_k = 0;
    int start_len = 0;
    QVector<int32_t> ids;
    QVector<float> weights;
    QVector<int> moe_layers;  // layer ids that are MoE layers
    int expert_id(int t, int l, int k) const { return ids[(t * layers + l) * top_k + k]; }
};

// One completion token as the engine produced it (for the token routing explorer).
struct CompletionToken {
    int id = -1;
    QString text;  // its decoded text piece ("" for an incomplete UTF-8 byte)
};

// The end of a request.
struct CompletionResult {
    QString content;            // whole answer text
    QString reasoning;          // R1 <think> text ("" if none)
    QString finish_reason;      // "stop" | "length" | "cancelled"
    int prompt_tokens = 0;
    int completion_tokens = 0;
    double time_to_first_token_ms = -1;
    double tokens_per_second = -1;
    QVector<CompletionToken> tokens;  // filled when routed experts were requested and the server sent them
    QJsonObject raw_final;            // the last JSON object as received
};

class EngineClient : public QObject {
    Q_OBJECT
public:
    explicit EngineClient(QObject* parent = nullptr);
    ~EngineClient() override;

    void setEndpoint(const EngineEndpoint& endpoint);
    EngineEndpoint endpoint() const;

    // POST /v1/chat/completions with stream=true. body is the OpenAI request without "stream"
    // (added here). Returns a request id (> 0) used by every signal below.
    quint64 startChat(const QJsonObject& body);
    // POST /v1/completions (streamed the same way); prompt text or token ids in body.
    quint64 startCompletion(const QJsonObject& body);
    // Aborts the HTTP request; the engine sees the disconnect and stops generating.
    // Emits finished(id, result with finish_reason "cancelled").
    void cancel(quint64 request_id);

    void refreshModels();                      // GET /v1/models -> modelsChanged
    void refreshHealth();                      // GET /health -> health
    void startTelemetry(int interval_ms = 100);  // SSE /workbench/v1/telemetry -> telemetry (reconnects)
    void stopTelemetry();
    // POST /workbench/v1/models/load (streamed progress) -> modelLoadProgress / modelLoaded / requestFailed(0,...)
    void loadModel(const QString& checkpoint_dir, const QString& backend = QStringLiteral("auto"),
                   int max_context = 0);

signals:
    void delta(quint64 request_id, const QString& content, const QString& reasoning);
    void finished(quint64 request_id, const moe::ui::CompletionResult& result);
    void routedExperts(quint64 request_id, const moe::ui::RoutedExperts& routing);
    // HTTP or API error; request_id 0 for model loads, telemetry and model lists.
    void requestFailed(quint64 request_id, const QString& message);
    void modelsChanged(const QJsonArray& models);  // /v1/models "data"
    void health(const QJsonObject& health);
    void telemetry(const QJsonObject& snapshot);  // one /workbench/v1/telemetry snapshot
    void modelLoadProgress(const QString& stage, const QString& message);
    void modelLoaded(const QJsonObject& model);
    void connectionStateChanged(bool reachable);
};

}  // namespace moe::ui
