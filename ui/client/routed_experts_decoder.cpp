#include "routed_experts_decoder.h"

#include <QByteArray>
#include <QJsonArray>
#include <QtEndian>

#include <cstring>
#include <stdexcept>

namespace moe::ui {
namespace {

QJsonValue find_payload(const QJsonObject& chunk, const char* key) {
    const QJsonValue ext = chunk.value("sglext").toObject().value(key);
    if (!ext.isUndefined() && !ext.isNull()) return ext;
    return chunk.value("meta_info").toObject().value(key);
}

QByteArray decode_base64(const QJsonValue& v, const char* what) {
    const auto r = QByteArray::fromBase64Encoding(v.toString().toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!r) throw std::runtime_error(std::string(what) + " is not valid base64");
    return *r;
}

template <typename T>
QVector<T> little_endian_array(const QByteArray& bytes, const char* what) {
    if (bytes.size() % qsizetype(sizeof(T)) != 0)
        throw std::runtime_error(std::string(what) + ": " + std::to_string(bytes.size()) +
                                 " bytes is not a whole number of 4-byte values");
    QVector<T> out(bytes.size() / qsizetype(sizeof(T)));
    for (qsizetype i = 0; i < out.size(); ++i)
        out[i] = qFromLittleEndian<T>(bytes.constData() + i * qsizetype(sizeof(T)));
    return out;
}

// routed_experts_format "json": [tokens][layers][top_k].
QVector<int32_t> flatten_json(const QJsonArray& tokens, int& layers, int& top_k) {
    QVector<int32_t> out;
    for (const QJsonValue& t : tokens) {
        const QJsonArray ls = t.toArray();
        layers = int(ls.size());
        for (const QJsonValue& l : ls) {
            const QJsonArray ks = l.toArray();
            top_k = int(ks.size());
            for (const QJsonValue& k : ks) out.append(int32_t(k.toInt(-1)));
        }
    }
    return out;
}

// SGLang fills dense layers with 0. A layer is dense when no token used an expert other than 0;
// with top_k > 1 a MoE layer cannot pick expert 0 in every slot (the experts of a token differ).
void mark_dense_layers(RoutedExperts& r) {
    r.moe_layers.clear();
    for (int l = 0; l < r.layers; ++l) {
        bool routed = false;
        for (int t = 0; t < r.tokens && !routed; ++t)
            for (int k = 0; k < r.top_k && !routed; ++k) routed = r.expert_id(t, l, k) > 0;
        if (routed || r.top_k == 1) {
            r.moe_layers.append(l);
            continue;
        }
        for (int t = 0; t < r.tokens; ++t)
            for (int k = 0; k < r.top_k; ++k) r.ids[(t * r.layers + l) * r.top_k + k] = -1;
    }
}

void apply_described_shape(RoutedExperts& r, const QJsonObject& info) {
    const QJsonArray shape = info.value("shape").toArray();
    if (shape.size() != 3) throw std::runtime_error("workbench.routed_experts.shape is not [tokens, layers, top_k]");
    r.tokens = shape[0].toInt();
    r.layers = shape[1].toInt();
    r.top_k = shape[2].toInt();
    r.start_len = info.value("start_len").toInt();
    for (const QJsonValue& l : info.value("moe_layers").toArray()) r.moe_layers.append(l.toInt());
}

}  // namespace

std::optional<RoutedExperts> decode_routed_experts(const QJsonObject& chunk, const RoutingShapeHint& hint) {
    const QJsonValue payload = find_payload(chunk, "routed_experts");
    if (payload.isUndefined() || payload.isNull()) return std::nullopt;

    RoutedExperts r;
    int json_layers = 0, json_top_k = 0;
    if (payload.isArray()) r.ids = flatten_json(payload.toArray(), json_layers, json_top_k);
    else r.ids = little_endian_array<int32_t>(decode_base64(payload, "routed_experts"), "routed_experts");

    const QJsonObject info = chunk.value("workbench").toObject().value("routed_experts").toObject();
    const bool described = info.contains("shape");
    if (described) {
        apply_described_shape(r, info);
    } else {
        r.layers = json_layers > 0 ? json_layers : hint.layers;
        r.top_k = json_top_k > 0 ? json_top_k : hint.top_k;
        r.start_len = hint.start_len;
        if (r.layers <= 0 || r.top_k <= 0)
            throw std::runtime_error("routed_experts came without a shape and the model's layer count and "
                                     "num_experts_per_tok are unknown (refresh the model list first)");
        r.tokens = int(r.ids.size() / (qsizetype(r.layers) * r.top_k));
    }
    const qsizetype expected = qsizetype(r.tokens) * r.layers * r.top_k;
    if (expected != r.ids.size())
        throw std::runtime_error("routed_experts holds " + std::to_string(r.ids.size()) + " ids, shape [" +
                                 std::to_string(r.tokens) + ", " + std::to_string(r.layers) + ", " +
                                 std::to_string(r.top_k) + "] needs " + std::to_string(expected));
    if (!described) mark_dense_layers(r);

    const QJsonValue weights = find_payload(chunk, "routed_expert_weights");
    if (weights.isString() || weights.isArray()) {
        if (weights.isString())
            r.weights = little_endian_array<float>(decode_base64(weights, "routed_expert_weights"), "routed_expert_weights");
        else
            for (const QJsonValue& t : weights.toArray())
                for (const QJsonValue& l : t.toArray())
                    for (const QJsonValue& k : l.toArray()) r.weights.append(float(k.toDouble()));
        if (r.weights.size() != r.ids.size())
            throw std::runtime_error("routed_expert_weights holds " + std::to_string(r.weights.size()) +
                                     " values for " + std::to_string(r.ids.size()) + " expert ids");
    }
    return r;
}

}  // namespace moe::ui
