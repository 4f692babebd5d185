#include "routing_codec.h"

#include <QDataStream>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace moe::ui {

namespace {
constexpr quint32 kRoutingMagic = 0x4D6F4552;  // "MoER"
constexpr quint32 kRoutingVersion = 1;
}  // namespace

QByteArray encodeRouting(const RoutedExperts& routing) {
    QByteArray blob;
    QDataStream out(&blob, QIODevice::WriteOnly);
    out.setVersion(QDataStream::Qt_6_4);
    out << kRoutingMagic << kRoutingVersion << qint32(routing.tokens) << qint32(routing.layers)
        << qint32(routing.top_k) << qint32(routing.start_len) << routing.ids << routing.weights
        << routing.moe_layers;
    return blob;
}

std::optional<RoutedExperts> decodeRouting(const QByteArray& blob) {
    QDataStream in(blob);
    in.setVersion(QDataStream::Qt_6_4);
    quint32 magic = 0, version = 0;
    qint32 tokens = 0, layers = 0, top_k = 0, start_len = 0;
    RoutedExperts r;
    in >> magic >> version >> tokens >> layers >> top_k >> start_len >> r.ids >> r.weights >> r.moe_layers;
    if (in.status() != QDataStream::Ok || magic != kRoutingMagic || version != kRoutingVersion) return std::nullopt;
    r.tokens = tokens;
    r.layers = layers;
    r.top_k = top_k;
    r.start_len = start_len;
    const qsizetype cells = qsizetype(tokens) * layers * top_k;
    if (tokens < 0 || layers < 0 || top_k < 0 || r.ids.size() != cells) return std::nullopt;
    if (!r.weights.isEmpty() && r.weights.size() != cells) return std::nullopt;
    return r;
}

QString encodeTokens(const QVector<CompletionToken>& tokens) {
    QJsonArray array;
    for (const CompletionToken& t : tokens) {
        QJsonArray entry{t.id, t.text};
        if (t.drafted) entry.append(true);  // [id, text, true]: drafted by an MTP module and kept
        array.append(entry);
    }
    return QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact));
}

QVector<CompletionToken> decodeTokens(const QString& json) {
    QVector<CompletionToken> tokens;
    const QJsonArray array = QJsonDocument::fromJson(json.toUtf8()).array();
    tokens.reserve(array.size());
    for (const QJsonValue& v : array) {
        const QJsonArray pair = v.toArray();
        tokens.append(CompletionToken{pair.at(0).toInt(-1), pair.at(1).toString(), pair.at(2).toBool(false)});
    }
    return tokens;
}

}  // namespace moe::ui
