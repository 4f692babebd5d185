#include "engine_client.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimer>
#include <QUrlQuery>

#include <stdexcept>

#include "api_error_text.h"
#include "completion_stream.h"
#include "routed_experts_decoder.h"
#include "sse_parser.h"

namespace moe::ui {
namespace {

// Short requests (model list, health) give up after this; streams never time out (a generation
// may pause for a long queue wait; the server sends keep-alives every 15 s).
constexpr int kShortRequestTimeoutMs = 10'000;
// Telemetry reconnects after min, doubling up to max while the server stays unreachable.
constexpr int kTelemetryBackoffMinMs = 250;
constexpr int kTelemetryBackoffMaxMs = 5'000;
// A line of an SSE stream longer than this is not something our servers send.
constexpr qsizetype kMaxPendingSseBytes = 64 << 20;

bool is_event_stream(QNetworkReply* reply) {
    return reply->header(QNetworkRequest::ContentTypeHeader).toString().startsWith("text/event-stream");
}

int http_status(QNetworkReply* reply) {
    return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
}

QString method_of(QNetworkReply* reply) {
    return reply->operation() == QNetworkAccessManager::GetOperation ? QStringLiteral("GET") : QStringLiteral("POST");
}

}  // namespace

void registerEngineClientMetaTypes() {
    qRegisterMetaType<moe::ui::EngineEndpoint>("moe::ui::EngineEndpoint");
    qRegisterMetaType<moe::ui::RoutedExperts>("moe::ui::RoutedExperts");
    qRegisterMetaType<moe::ui::CompletionToken>("moe::ui::CompletionToken");
    qRegisterMetaType<moe::ui::CompletionResult>("moe::ui::CompletionResult");
}

struct EngineClient::Request {
    RequestKind kind = RequestKind::Chat;
    QPointer<QNetworkReply> reply;
    SseParser parser;
    CompletionStream stream;
    QByteArray body;  // error bodies and non-streamed answers, read whole
    RoutingShapeHint hint;
    bool done = false;  // finished or failed was emitted
};

struct EngineClient::Telemetry {
    bool wanted = false;
    int interval_ms = 100;
    QPointer<QNetworkReply> reply;
    SseParser parser;
    int backoff_ms = kTelemetryBackoffMinMs;
    QTimer retry;
    QString last_error;  // reported once until the stream works again
};

EngineClient::EngineClient(QObject* parent)
    : QObject(parent), nam_(new QNetworkAccessManager(this)), telemetry_(std::make_unique<Telemetry>()) {
    registerEngineClientMetaTypes();
    telemetry_->retry.setSingleShot(true);
    connect(&telemetry_->retry, &QTimer::timeout, this, &EngineClient::connectTelemetry);
}

EngineClient::~EngineClient() {
    // Abort without emitting: nobody listens any more.
    for (auto& [key, r] : requests_)
        if (r->reply) {
            r->reply->disconnect(this);
            r->reply->abort();
        }
    if (telemetry_->reply) {
        telemetry_->reply->disconnect(this);
        telemetry_->reply->abort();
    }
}

void EngineClient::setEndpoint(const EngineEndpoint& endpoint) {
    endpoint_ = endpoint;
    reachable_.reset();
    if (telemetry_->wanted) {
        telemetry_->backoff_ms = kTelemetryBackoffMinMs;
        connectTelemetry();
    }
}

EngineEndpoint EngineClient::endpoint() const { return endpoint_; }

void EngineClient::setRoutingShapeHint(int num_layers, int top_k) {
    hint_layers_ = num_layers;
    hint_top_k_ = top_k;
}

QNetworkRequest EngineClient::makeRequest(const QString& path, bool stream) const {
    QString base = endpoint_.base.toString(QUrl::StripTrailingSlash);
    QNetworkRequest req(QUrl(base + path));
    req.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!endpoint_.api_key.isEmpty()) req.setRawHeader("Authorization", "Bearer " + endpoint_.api_key.toUtf8());
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    req.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    if (stream) {
        req.setRawHeader("Accept", "text/event-stream");
        req.setTransferTimeout(0);
    } else {
        req.setTransferTimeout(kShortRequestTimeoutMs);
    }
    return req;
}

// ---- completions ------------------------------------------------------------------------------

quint64 EngineClient::startChat(const QJsonObject& body) {
    return startStreamed(RequestKind::Chat, QStringLiteral("/v1/chat/completions"), body);
}

quint64 EngineClient::startCompletion(const QJsonObject& body) {
    return startStreamed(RequestKind::Completion, QStringLiteral("/v1/completions"), body);
}

quint64 EngineClient::startStreamed(RequestKind kind, const QString& path, const QJsonObject& body) {
    QJsonObject b = body;
    b.insert("stream", true);
    if (kind != RequestKind::ModelLoad && !b.contains("stream_options"))
        b.insert("stream_options", QJsonObject{{"include_usage", true}});
    const quint64 key = next_id_++;
    auto r = std::make_unique<Request>();
    r->kind = kind;
    r->hint = RoutingShapeHint{hint_layers_, hint_top_k_, b.value("routed_experts_start_len").toInt()};
    r->reply = nam_->post(makeRequest(path, true), QJsonDocument(b).toJson(QJsonDocument::Compact));
    connect(r->reply, &QNetworkReply::readyRead, this, [this, key] { onReadyRead(key); });
    connect(r->reply, &QNetworkReply::finished, this, [this, key] { onFinished(key); });
    requests_.emplace(key, std::move(r));
    return key;
}

void EngineClient::onReadyRead(quint64 key) {
    auto it = requests_.find(key);
    if (it == requests_.end() || !it->second->reply) return;
    Request& r = *it->second;
    const QByteArray bytes = r.reply->readAll();
    if (http_status(r.reply) >= 400 || !is_event_stream(r.reply)) {
        r.body += bytes;
        return;
    }
    const QList<QByteArray> events = r.parser.feed(bytes);
    if (r.parser.pendingBytes() > kMaxPendingSseBytes) {
        fail(key, QStringLiteral("the event stream from %1 holds a line over 64 MiB").arg(r.reply->url().toString()));
        return;
    }
    for (const QByteArray& data : events) {
        handleEvent(key, data);
        if (!requests_.count(key)) return;  // a slot cancelled it
    }
}

void EngineClient::handleEvent(quint64 key, const QByteArray& data) {
    Request& r = *requests_.at(key);
    if (r.done) return;
    if (data == "[DONE]") {
        complete(key);
        return;
    }
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(data, &err);
    if (!doc.isObject()) {
        fail(key, QStringLiteral("%1 sent an event that is not a JSON object (%2): %3")
                      .arg(r.reply->url().toString(), err.errorString(), QString::fromUtf8(data.left(200))));
        return;
    }
    const QJsonObject obj = doc.object();
    if (r.kind == RequestKind::ModelLoad) return handleLoadEvent(key, obj);
    if (obj.value("error").isObject()) {
        fail(key, api_error_text(obj.value("error").toObject(), r.reply->url()));
        return;
    }
    const ChunkText text = r.stream.consume(obj);
    if (!text.empty()) emit delta(key, text.content, text.reasoning);
}

void EngineClient::complete(quint64 key) {
    auto it = requests_.find(key);
    if (it == requests_.end() || it->second->done) return;
    Request& r = *it->second;
    r.done = true;
    if (r.kind == RequestKind::ModelLoad) return;
    const CompletionResult result = r.stream.result();
    std::optional<RoutedExperts> routing;
    QString routing_error;
    try {
        routing = decode_routed_experts(r.stream.finalChunk(), r.hint);
    } catch (const std::exception& e) {
        routing_error = QStringLiteral("routed experts from %1: %2").arg(r.reply->url().toString(), e.what());
    }
    // Routing first, so a view has it when the reply is marked finished.
    if (routing) emit routedExperts(key, *routing);
    if (!routing_error.isEmpty()) emit requestFailed(key, routing_error);
    emit finished(key, result);
}

void EngineClient::fail(quint64 key, const QString& message) {
    auto it = requests_.find(key);
    if (it == requests_.end() || it->second->done) return;
    Request& r = *it->second;
    r.done = true;
    const quint64 signal_id = r.kind == RequestKind::ModelLoad ? 0 : key;
    if (r.reply && r.reply->isRunning()) {
        r.reply->disconnect(this);
        r.reply->abort();
        r.reply->deleteLater();
        requests_.erase(it);  // disconnected: its finished signal will not come to clean up
    }
    emit requestFailed(signal_id, message);
}

void EngineClient::onFinished(quint64 key) {
    auto it = requests_.find(key);
    if (it == requests_.end()) return;
    QNetworkReply* reply = it->second->reply;
    finishTransport(key);
    if (reply) reply->deleteLater();
    requests_.erase(key);
}

// The HTTP exchange is over: turn what arrived into finished / requestFailed if not done yet.
void EngineClient::finishTransport(quint64 key) {
    Request& r = *requests_.at(key);
    QNetworkReply* reply = r.reply;
    const bool reached = noteTransport(reply);
    const int status = http_status(reply);
    r.body += reply->readAll();
    const quint64 signal_id = r.kind == RequestKind::ModelLoad ? 0 : key;
    if (r.done) return;
    if (!reached) return fail(key, transport_error_text(transportReason(reply), method_of(reply), reply->url()));
    if (status >= 400) return fail(key, http_error_text(status, r.body, method_of(reply), reply->url()));
    if (!r.body.isEmpty()) {  // a server that answered with one JSON body instead of a stream
        const QJsonDocument doc = QJsonDocument::fromJson(r.body);
        if (!doc.isObject())
            return fail(key, QStringLiteral("%1 answered with neither an event stream nor JSON: %2")
                                 .arg(reply->url().toString(), QString::fromUtf8(r.body.left(200))));
        if (r.kind == RequestKind::ModelLoad) {
            handleLoadEvent(key, doc.object());
        } else {
            const ChunkText text = r.stream.consume(doc.object());
            if (!text.empty()) emit delta(signal_id, text.content, text.reasoning);
        }
        if (requests_.count(key)) complete(key);
        return;
    }
    for (const QByteArray& data : r.parser.finish()) {
        handleEvent(key, data);
        if (!requests_.count(key) || requests_.at(key)->done) return;
    }
    if (reply->error() != QNetworkReply::NoError)
        return fail(key, QStringLiteral("the reply from %1 %2 broke off: %3").arg(method_of(reply), reply->url().toString(), reply->errorString()));
    if (r.kind != RequestKind::ModelLoad && !r.stream.sawFinish())
        return fail(key, QStringLiteral("the stream from %1 ended before the reply finished").arg(reply->url().toString()));
    complete(key);
}

void EngineClient::cancel(quint64 request_id) {
    auto it = requests_.find(request_id);
    if (it == requests_.end() || it->second->done) return;
    std::unique_ptr<Request> r = std::move(it->second);
    requests_.erase(it);
    if (r->reply) {
        r->reply->disconnect(this);
        r->reply->abort();  // closes the connection: the server stops before its next token
        r->reply->deleteLater();
    }
    if (r->kind == RequestKind::ModelLoad) return;
    CompletionResult result = r->stream.result();
    result.finish_reason = QStringLiteral("cancelled");
    emit finished(request_id, result);
}

// ---- reachability -----------------------------------------------------------------------------

// Replies this client aborts itself are disconnected first, so an OperationCanceledError seen here
// is a transfer timeout: the server did not answer in time, which counts as unreachable.
bool EngineClient::noteTransport(QNetworkReply* reply) {
    const bool got_http = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).isValid();
    if (got_http) markReachable(true);
    else if (reply->error() != QNetworkReply::NoError) markReachable(false);
    return got_http || reply->error() == QNetworkReply::NoError;
}

QString EngineClient::transportReason(QNetworkReply* reply) {
    if (reply->error() == QNetworkReply::OperationCanceledError)
        return QStringLiteral("no answer within %1 s").arg(kShortRequestTimeoutMs / 1000);
    return reply->errorString();
}

void EngineClient::markReachable(bool reachable) {
    if (reachable_ == reachable) return;
    reachable_ = reachable;
    emit connectionStateChanged(reachable);
}

// ---- small GETs -------------------------------------------------------------------------------

void EngineClient::getJson(const QString& path, std::function<void(const QJsonObject&)> on_ok) {
    QNetworkReply* reply = nam_->get(makeRequest(path, false));
    connect(reply, &QNetworkReply::finished, this, [this, reply, on_ok = std::move(on_ok)] {
        reply->deleteLater();
        const QByteArray body = reply->readAll();
        if (!noteTransport(reply))
            return emit requestFailed(0, transport_error_text(transportReason(reply), "GET", reply->url()));
        const int status = http_status(reply);
        // /health answers 503 with a JSON body while the server stops: still a health report.
        const QJsonDocument doc = QJsonDocument::fromJson(body);
        if (status >= 400 && !(status == 503 && reply->url().path().endsWith("/health") && doc.isObject()))
            return emit requestFailed(0, http_error_text(status, body, "GET", reply->url()));
        if (!doc.isObject())
            return emit requestFailed(0, QStringLiteral("GET %1 did not answer with a JSON object: %2")
                                             .arg(reply->url().toString(), QString::fromUtf8(body.left(200))));
        on_ok(doc.object());
    });
}

void EngineClient::sendJson(const QByteArray& method, const QString& path, const QJsonObject& body, QObject* context,
                            std::function<void(const JsonReply&)> done, int timeout_ms) {
    QNetworkRequest req = makeRequest(path, false);
    if (timeout_ms >= 0) req.setTransferTimeout(timeout_ms);
    QNetworkReply* reply = method == "GET"
                               ? nam_->get(req)
                               : nam_->post(req, QJsonDocument(body).toJson(QJsonDocument::Compact));
    connect(reply, &QNetworkReply::finished, this,
            [this, reply, method, ctx = QPointer<QObject>(context), done = std::move(done)] {
                reply->deleteLater();
                JsonReply r;
                const QByteArray bytes = reply->readAll();
                const QString verb = QString::fromLatin1(method);
                if (!noteTransport(reply)) {
                    r.error = transport_error_text(transportReason(reply), verb, reply->url());
                } else {
                    r.status = http_status(reply);
                    const QJsonDocument doc = QJsonDocument::fromJson(bytes);
                    if (doc.isObject()) r.body = doc.object();
                    if (r.status >= 400) r.error = http_error_text(r.status, bytes, verb, reply->url());
                    else if (!doc.isObject())
                        r.error = QStringLiteral("%1 %2 did not answer with a JSON object: %3")
                                      .arg(verb, reply->url().toString(), QString::fromUtf8(bytes.left(200)));
                }
                if (ctx) done(r);
            });
}

void EngineClient::refreshModels() {
    getJson(QStringLiteral("/v1/models"), [this](const QJsonObject& obj) {
        const QJsonArray data = obj.value("data").toArray();
        if (!data.isEmpty()) {
            const QJsonObject m = data.first().toObject();
            if (m.contains("num_layers") && m.contains("num_experts_per_tok"))
                setRoutingShapeHint(m.value("num_layers").toInt(), m.value("num_experts_per_tok").toInt());
        }
        emit modelsChanged(data);
    });
}

void EngineClient::refreshHealth() {
    getJson(QStringLiteral("/health"), [this](const QJsonObject& obj) { emit health(obj); });
}

// ---- model load -------------------------------------------------------------------------------

void EngineClient::loadModel(const QString& checkpoint_dir, const QString& backend, int max_context) {
    QJsonObject body{{"model", checkpoint_dir}, {"backend", backend}};
    if (max_context > 0) body.insert("max_context", max_context);
    startStreamed(RequestKind::ModelLoad, QStringLiteral("/workbench/v1/models/load"), body);
}

void EngineClient::handleLoadEvent(quint64 key, const QJsonObject& event) {
    const QString type = event.value("type").toString();
    if (type == "progress") {
        emit modelLoadProgress(event.value("stage").toString(), event.value("message").toString());
    } else if (type == "loaded" || (event.value("object") == "model" && event.contains("id"))) {
        const QJsonObject model = type == "loaded" ? event.value("model").toObject() : event;
        complete(key);
        emit modelLoaded(model);
        refreshModels();
    } else if (type == "error" || event.value("error").isObject()) {
        const QUrl url = requests_.count(key) && requests_.at(key)->reply ? requests_.at(key)->reply->url() : QUrl();
        fail(key, api_error_text(event.value("error").toObject(), url));
    }
}

// ---- telemetry --------------------------------------------------------------------------------

void EngineClient::startTelemetry(int interval_ms) {
    telemetry_->wanted = true;
    telemetry_->interval_ms = interval_ms;
    telemetry_->backoff_ms = kTelemetryBackoffMinMs;
    connectTelemetry();
}

void EngineClient::stopTelemetry() {
    telemetry_->wanted = false;
    telemetry_->retry.stop();
    if (telemetry_->reply) {
        telemetry_->reply->disconnect(this);
        telemetry_->reply->abort();
        telemetry_->reply->deleteLater();
    }
}

void EngineClient::connectTelemetry() {
    Telemetry& t = *telemetry_;
    t.retry.stop();
    if (t.reply) {
        t.reply->disconnect(this);
        t.reply->abort();
        t.reply->deleteLater();
    }
    if (!t.wanted || !endpoint_.base.isValid()) return;
    t.parser = SseParser{};
    QNetworkRequest req = makeRequest(QStringLiteral("/workbench/v1/telemetry?interval_ms=%1").arg(t.interval_ms), true);
    t.reply = nam_->get(req);
    connect(t.reply, &QNetworkReply::readyRead, this, &EngineClient::onTelemetryData);
    connect(t.reply, &QNetworkReply::finished, this, &EngineClient::onTelemetryFinished);
}

void EngineClient::onTelemetryData() {
    Telemetry& t = *telemetry_;
    QNetworkReply* reply = t.reply;
    if (!reply) return;
    if (http_status(reply) >= 400 || !is_event_stream(reply)) return;  // read whole in onTelemetryFinished
    markReachable(true);
    for (const QByteArray& data : t.parser.feed(reply->readAll())) {
        const QJsonDocument doc = QJsonDocument::fromJson(data);
        if (!doc.isObject()) continue;  // [DONE] or a broken event: the next snapshot replaces it
        if (doc.object().value("error").isObject()) {
            emit requestFailed(0, api_error_text(doc.object().value("error").toObject(), reply->url()));
            continue;
        }
        t.backoff_ms = kTelemetryBackoffMinMs;
        t.last_error.clear();
        emit telemetry(doc.object());
        if (telemetry_->reply != reply) return;  // a slot restarted or stopped the stream
    }
}

void EngineClient::onTelemetryFinished() {
    Telemetry& t = *telemetry_;
    QNetworkReply* reply = t.reply;
    if (!reply) return;
    reply->deleteLater();
    t.reply = nullptr;
    QString error;
    if (!noteTransport(reply)) error = transport_error_text(transportReason(reply), "GET", reply->url());
    else if (http_status(reply) >= 400) error = http_error_text(http_status(reply), reply->readAll(), "GET", reply->url());
    if (!error.isEmpty() && error != t.last_error) {
        t.last_error = error;
        emit requestFailed(0, error);
    }
    if (!t.wanted) return;
    // The server ended the stream (max_events, restart, stop) or could not be reached: come back.
    t.retry.start(t.backoff_ms);
    t.backoff_ms = std::min(t.backoff_ms * 2, kTelemetryBackoffMaxMs);
}

}  // namespace moe::ui
