#include "layer_expert_counts.h"

#include <algorithm>
#include <limits>

namespace moe::ui {

qint64 LayerExpertCounts::layerSum(int layer) const {
    qint64 sum = 0;
    for (int e = 0; e < n_experts; ++e) sum += at(layer, e);
    return sum;
}

void LayerExpertCounts::ensureExperts(int experts) {
    if (experts <= n_experts) return;
    QVector<qint64> wider(layers * experts, 0);
    for (int l = 0; l < layers; ++l)
        for (int e = 0; e < n_experts; ++e) wider[l * experts + e] = at(l, e);
    counts = std::move(wider);
    n_experts = experts;
}

void LayerExpertCounts::add(const RoutedExperts& routing) {
    if (routing.tokens <= 0 || routing.layers <= 0 || routing.top_k <= 0) return;
    if (tokens > 0 && (routing.layers != layers || routing.top_k != top_k)) {
        const int experts = n_experts;
        *this = LayerExpertCounts{};
        ensureExperts(experts);
    }
    if (layers == 0) {
        layers = routing.layers;
        top_k = routing.top_k;
        counts = QVector<qint64>(layers * n_experts, 0);
        layer_tokens = QVector<qint64>(layers, 0);
    }
    int max_id = -1;
    for (int32_t id : routing.ids) max_id = std::max<int>(max_id, id);
    ensureExperts(max_id + 1);
    for (int l : routing.moe_layers)
        if (!moe_layers.contains(l)) moe_layers << l;
    for (int t = 0; t < routing.tokens; ++t) {
        for (int l = 0; l < layers; ++l) {
            bool routed = false;
            for (int k = 0; k < top_k; ++k) {
                const int id = routing.expert_id(t, l, k);
                if (id < 0) continue;  // dense layer
                ++counts[l * n_experts + id];
                routed = true;
            }
            if (!routed) continue;
            ++layer_tokens[l];
            if (!moe_layers.contains(l)) moe_layers << l;  // a server that does not list them (SGLang)
        }
    }
    std::sort(moe_layers.begin(), moe_layers.end());
    tokens += routing.tokens;
}

void LayerExpertCounts::addCounts(const LayerExpertCounts& other) {
    if (other.isEmpty()) return;
    if (isEmpty() && layers == 0) {
        const int experts = n_experts;
        *this = other;
        ensureExperts(experts);
        return;
    }
    if (other.layers != layers || other.top_k != top_k) return;
    ensureExperts(other.n_experts);
    for (int l = 0; l < layers; ++l) {
        for (int e = 0; e < other.n_experts; ++e) counts[l * n_experts + e] += other.at(l, e);
        layer_tokens[l] += other.layer_tokens[l];
    }
    for (int l : other.moe_layers)
        if (!moe_layers.contains(l)) moe_layers << l;
    std::sort(moe_layers.begin(), moe_layers.end());
    tokens += other.tokens;
}

viz::HeatmapData LayerExpertCounts::toHeatmap(const QString& value_title) const {
    viz::HeatmapData data = viz::HeatmapData::filled(layers, n_experts);
    data.row_title = QStringLiteral("layer");
    data.col_title = QStringLiteral("expert");
    data.value_title = value_title;
    for (int l = 0; l < layers; ++l) {
        data.row_labels << QString::number(l);
        for (int e = 0; e < n_experts; ++e)
            data.at(l, e) = isMoeLayer(l) ? double(at(l, e)) : std::numeric_limits<double>::quiet_NaN();
    }
    return data;
}

}  // namespace moe::ui
