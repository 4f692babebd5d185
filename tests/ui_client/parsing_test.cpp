// The pure parts of the engine client: the SSE parser (chunks split anywhere), the routed-experts
// decoder (our engine's layout with its shape, SGLang's without), chunk folding and error texts.
#include <QJsonArray>
#include <QJsonDocument>
#include <QtEndian>
#include <QtTest>

#include "api_error_text.h"
#include "engine_client.h"
#include "completion_stream.h"
#include "routed_experts_decoder.h"
#include "sse_parser.h"

using namespace moe::ui;

namespace {

// The events the stream below carries, as the SSE spec defines them (comments and other fields
// dropped, multi-line data joined with "\n", any of the three line endings).
const QByteArray kStream =
    ": keep-alive\n\n"
    "data: {\"a\":1}\n\n"
    "data:{\"b\":\"x y\"}\r\n\r\n"
    "event: message\nid: 7\ndata: line1\ndata: line2\n\n"
    "data: \xe4\xb8\x96\xe7\x95\x8c\r\r"
    "retry: 100\n\n"
    "data: [DONE]\n\n";
const QList<QByteArray> kEvents = {"{\"a\":1}", "{\"b\":\"x y\"}", "line1\nline2", "\xe4\xb8\x96\xe7\x95\x8c", "[DONE]"};

QByteArray int32_base64(const QVector<int32_t>& v) {
    QByteArray b(v.size() * 4, '\0');
    for (int i = 0; i < v.size(); ++i) qToLittleEndian<int32_t>(v[i], b.data() + i * 4);
    return b.toBase64();
}

QByteArray float_base64(const QVector<float>& v) {
    QByteArray b(v.size() * 4, '\0');
    for (int i = 0; i < v.size(); ++i) qToLittleEndian<float>(v[i], b.data() + i * 4);
    return b.toBase64();
}

}  // namespace

class ParsingTest : public QObject {
    Q_OBJECT
private slots:
    void sseWholeStream() {
        SseParser p;
        QCOMPARE(p.feed(kStream), kEvents);
        QVERIFY(p.finish().isEmpty());
    }

    // Every split point of the stream into two chunks, and byte-by-byte, gives the same events.
    void sseSplitAnywhere() {
        for (qsizetype cut = 0; cut <= kStream.size(); ++cut) {
            SseParser p;
            QList<QByteArray> got = p.feed(kStream.left(cut));
            got += p.feed(kStream.mid(cut));
            QVERIFY2(got == kEvents, qPrintable(QStringLiteral("split at byte %1").arg(cut)));
        }
        SseParser p;
        QList<QByteArray> got;
        for (char c : kStream) got += p.feed(QByteArray(1, c));
        QCOMPARE(got, kEvents);
    }

    void sseUnterminatedLastEventIsKeptAtTheEnd() {
        SseParser p;
        QVERIFY(p.feed("data: {\"last\":true}").isEmpty());
        QCOMPARE(p.finish(), QList<QByteArray>{"{\"last\":true}"});
    }

    // Our engine: shape, start_len and moe_layers come with the payload; weights in the same layout.
    void routedExpertsWithShape() {
        const QVector<int32_t> ids = {-1, -1, 3, 5, -1, -1, 7, 0};  // [2 tokens, 2 layers, 2]
        const QVector<float> w = {0, 0, 0.75f, 1.25f, 0, 0, 1.5f, 0.5f};
        QJsonObject chunk{{"sglext", QJsonObject{{"routed_experts", QString(int32_base64(ids))},
                                                 {"routed_expert_weights", QString(float_base64(w))}}},
                          {"workbench", QJsonObject{{"routed_experts", QJsonObject{{"shape", QJsonArray{2, 2, 2}},
                                                                                   {"start_len", 3},
                                                                                   {"moe_layers", QJsonArray{1}}}}}}};
        const auto r = decode_routed_experts(chunk, {});
        QVERIFY(r.has_value());
        QCOMPARE(r->tokens, 2);
        QCOMPARE(r->layers, 2);
        QCOMPARE(r->top_k, 2);
        QCOMPARE(r->start_len, 3);
        QCOMPARE(r->ids, ids);
        QCOMPARE(r->weights, w);
        QCOMPARE(r->moe_layers, QVector<int>{1});
        QCOMPARE(r->expert_id(1, 1, 0), 7);
    }

    // SGLang: meta_info.routed_experts, no shape; dense layers are zeros there and become -1.
    void routedExpertsFromSglang() {
        const QVector<int32_t> ids = {0, 0, 4, 9, 0, 2, 0, 0, 3, 0, 6, 1};  // [2 tokens, 3 layers, 2]
        QJsonObject chunk{{"meta_info", QJsonObject{{"routed_experts", QString(int32_base64(ids))}}}};
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, decode_routed_experts(chunk, {}));  // no shape known
        const auto r = decode_routed_experts(chunk, RoutingShapeHint{3, 2, 0});
        QVERIFY(r.has_value());
        QCOMPARE(r->tokens, 2);
        QCOMPARE(r->moe_layers, (QVector<int>{1, 2}));  // layer 2 picked expert 0 and 2: routed
        QCOMPARE(r->expert_id(0, 0, 0), -1);
        QCOMPARE(r->expert_id(1, 0, 1), -1);
        QCOMPARE(r->expert_id(1, 2, 0), 6);
        QVERIFY(r->weights.isEmpty());
    }

    void routedExpertsJsonFormat() {
        QJsonObject chunk{{"sglext", QJsonObject{{"routed_experts",
                                                  QJsonArray{QJsonArray{QJsonArray{-1, -1}, QJsonArray{2, 3}}}}}}};
        const auto r = decode_routed_experts(chunk, {});
        QVERIFY(r.has_value());
        QCOMPARE(r->tokens, 1);
        QCOMPARE(r->layers, 2);
        QCOMPARE(r->ids, (QVector<int32_t>{-1, -1, 2, 3}));
    }

    void routedExpertsBrokenPayloadsThrow() {
        QVERIFY(!decode_routed_experts(QJsonObject{{"choices", QJsonArray{}}}, {}).has_value());
        QJsonObject bad{{"sglext", QJsonObject{{"routed_experts", "###"}}}};
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, decode_routed_experts(bad, RoutingShapeHint{2, 2, 0}));
        QJsonObject wrong{{"sglext", QJsonObject{{"routed_experts", QString(int32_base64({1, 2, 3}))}}},
                          {"workbench", QJsonObject{{"routed_experts", QJsonObject{{"shape", QJsonArray{1, 2, 2}}}}}}};
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, decode_routed_experts(wrong, {}));
    }

    void completionStreamFoldsChunks() {
        CompletionStream s;
        const auto chunk = [](const char* json) { return QJsonDocument::fromJson(json).object(); };
        QVERIFY(s.consume(chunk(R"({"choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]})")).empty());
        QCOMPARE(s.consume(chunk(R"({"choices":[{"delta":{"reasoning_content":"think"},"finish_reason":null}]})")).reasoning,
                 QStringLiteral("think"));
        QCOMPARE(s.consume(chunk(R"({"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]})")).content,
                 QStringLiteral("Hi"));
        s.consume(chunk(R"({"choices":[{"delta":{},"finish_reason":"length"}],
            "workbench":{"time_to_first_token_ms":12.5,"decode_tokens_per_second":99,
                         "completion_tokens":[{"id":5,"text":"H"},{"id":6,"text":"i"}]}})"));
        s.consume(chunk(R"({"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}})"));
        const CompletionResult r = s.result();
        QCOMPARE(r.content, QStringLiteral("Hi"));
        QCOMPARE(r.reasoning, QStringLiteral("think"));
        QCOMPARE(r.finish_reason, QStringLiteral("length"));
        QCOMPARE(r.prompt_tokens, 4);
        QCOMPARE(r.completion_tokens, 2);
        QCOMPARE(r.time_to_first_token_ms, 12.5);
        QCOMPARE(r.tokens_per_second, 99.0);
        QCOMPARE(r.tokens.size(), 2);
        QCOMPARE(r.tokens[1].text, QStringLiteral("i"));
        QCOMPARE(r.raw_final.value("usage").toObject().value("prompt_tokens").toInt(), 4);
    }

    // Results travel through queued connections (a panel on another thread, or a queued slot).
    void resultsCrossQueuedConnections() {
        EngineClient client;
        QVERIFY(QMetaType::fromName("moe::ui::CompletionResult").isValid());
        QVERIFY(QMetaType::fromName("moe::ui::RoutedExperts").isValid());
        QObject receiver;
        CompletionResult got;
        RoutedExperts routing;
        connect(&client, &EngineClient::finished, &receiver,
                [&](quint64, const CompletionResult& r) { got = r; }, Qt::QueuedConnection);
        connect(&client, &EngineClient::routedExperts, &receiver,
                [&](quint64, const RoutedExperts& r) { routing = r; }, Qt::QueuedConnection);
        CompletionResult sent;
        sent.content = QStringLiteral("queued");
        sent.tokens = {CompletionToken{7, QStringLiteral("q")}};
        RoutedExperts x;
        x.tokens = 1;
        x.layers = 1;
        x.top_k = 2;
        x.ids = {3, 4};
        emit client.finished(1, sent);
        emit client.routedExperts(1, x);
        QTRY_COMPARE(got.content, QStringLiteral("queued"));
        QCOMPARE(got.tokens.size(), 1);
        QTRY_COMPARE(routing.ids, (QVector<int32_t>{3, 4}));
    }

    void errorTextsNameCodeMessageAndUrl() {
        const QUrl url("http://127.0.0.1:9/v1/chat/completions");
        const QString t = http_error_text(
            400, R"({"error":{"message":"must be in [0, 2]","type":"invalid_request_error","code":"invalid_value","param":"temperature"}})",
            "POST", url);
        QVERIFY2(t.contains("HTTP 400") && t.contains("invalid_value") && t.contains("must be in [0, 2]") &&
                     t.contains("temperature") && t.contains(url.toString()),
                 qPrintable(t));
        const QString plain = http_error_text(502, "Bad Gateway", "GET", url);
        QVERIFY2(plain.contains("502") && plain.contains("Bad Gateway"), qPrintable(plain));
        const QString net = transport_error_text("Connection refused", "GET", url);
        QVERIFY2(net.contains("cannot reach") && net.contains("Connection refused"), qPrintable(net));
    }
};

QTEST_GUILESS_MAIN(ParsingTest)
#include "parsing_test.moc"
