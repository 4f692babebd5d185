// EngineClient: the workbench's only way to talk to an engine — our own `moe-engine serve` or any
// OpenAI-compatible server (vLLM, SGLang). Everything is asynchronous (QNetworkAccessManager on the
// GUI thread's event loop, never a blocking wait); results arrive as signals.
//
// CONTRACT shared by ui/chat, ui/routing and ui/models: names and meanings below are fixed; the
// implementation (ui/client/engine_client.cpp) may add members but not change these.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QUrl>
#include <QVector>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

class QNetworkAccessManager;
class QNetworkReply;
class QNetworkRequest;

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
    // Speculative decoding: an MTP module drafted it and the model's verification kept it
    // (workbench.speculative.drafted_tokens); false when the model chose it itself.
    bool drafted = false;
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

public:
    // Additions beyond the shared contract.
    // The layer count and top_k used to decode routed experts from a server that sends no shape
    // (SGLang). Learned from /v1/models of our engine (num_layers, num_experts_per_tok) by refreshModels().
    void setRoutingShapeHint(int num_layers, int top_k);
    // Whether the last request reached the server (nullopt before the first answer).
    std::optional<bool> reachable() const { return reachable_; }
    // Requests started and not yet finished (telemetry not counted).
    int activeRequests() const { return int(requests_.size()); }

    // A JSON request whose answer goes only to `done`, never to requestFailed: for panels that show
    // their own failures (the fine-tune panel). status is the HTTP status (0: the server was not
    // reached); error is "" for a 2xx answer with a JSON object, else the readable failure.
    struct JsonReply {
        int status = 0;
        QJsonObject body;
        QString error;
        bool ok() const { return error.isEmpty(); }
    };
    // method: "GET" or "POST" (body sent with POST). timeout_ms: 0 = none (an export may take
    // minutes), < 0 = the short default. done is not called once `context` is destroyed.
    void sendJson(const QByteArray& method, const QString& path, const QJsonObject& body, QObject* context,
                  std::function<void(const JsonReply&)> done, int timeout_ms = -1);

private:
    struct Request;
    struct Telemetry;
    enum class RequestKind { Chat, Completion, ModelLoad };

    QNetworkRequest makeRequest(const QString& path, bool stream) const;
    quint64 startStreamed(RequestKind kind, const QString& path, const QJsonObject& body);
    void onReadyRead(quint64 key);
    void onFinished(quint64 key);
    void handleEvent(quint64 key, const QByteArray& data);
    void handleLoadEvent(quint64 key, const QJsonObject& event);
    void complete(quint64 key);
    void fail(quint64 key, const QString& message);
    void finishTransport(quint64 key);
    void getJson(const QString& path, std::function<void(const QJsonObject&)> on_ok);
    void markReachable(bool reachable);
    bool noteTransport(QNetworkReply* reply);  // false when the server could not be reached
    static QString transportReason(QNetworkReply* reply);
    void connectTelemetry();
    void onTelemetryData();
    void onTelemetryFinished();

    QNetworkAccessManager* nam_;
    EngineEndpoint endpoint_;
    quint64 next_id_ = 1;
    std::map<quint64, std::unique_ptr<Request>> requests_;
    std::unique_ptr<Telemetry> telemetry_;
    std::optional<bool> reachable_;
    int hint_layers_ = 0;
    int hint_top_k_ = 0;
};

// Registers the types above for queued connections (EngineClient's constructor calls it too).
void registerEngineClientMetaTypes();

}  // namespace moe::ui

Q_DECLARE_METATYPE(moe::ui::EngineEndpoint)
Q_DECLARE_METATYPE(moe::ui::RoutedExperts)
Q_DECLARE_METATYPE(moe::ui::CompletionToken)
Q_DECLARE_METATYPE(moe::ui::CompletionResult)
