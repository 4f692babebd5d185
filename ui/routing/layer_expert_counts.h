// Expert hits per decoder layer, accumulated from the routed experts of requests (SGLang's layout:
// [tokens, layers, top_k] expert ids, -1 in dense layers). Plain data: the live view's fallback for
// servers without telemetry and every per-domain matrix are one of these.
#pragma once

#include <QVector>

#include "engine_client.h"
#include "heatmap_data.h"

namespace moe::ui {

struct LayerExpertCounts {
    int layers = 0;     // decoder layers = rows; dense layers have no hits and show as "no data"
    int n_experts = 0;  // columns; grows when a larger expert id arrives
    int top_k = 0;
    QVector<int> moe_layers;       // layer ids that route (from the server, or those with ids >= 0)
    QVector<qint64> counts;        // [layers, n_experts] hits
    QVector<qint64> layer_tokens;  // [layers] tokens routed through each layer
    qint64 tokens = 0;             // routing rows added (tokens run through the model)

    qint64 at(int layer, int expert) const { return counts[layer * n_experts + expert]; }
    qint64 layerSum(int layer) const;
    bool isMoeLayer(int layer) const { return moe_layers.contains(layer); }
    bool isEmpty() const { return tokens == 0; }

    // Makes room for at least this many experts (the model's n_routed_experts), keeping the counts.
    void ensureExperts(int experts);
    // Adds every routing row of one request. Ids of -1 (dense layers) are skipped; a shape that
    // disagrees with earlier requests (another model) restarts the counts from this request.
    void add(const RoutedExperts& routing);
    void addCounts(const LayerExpertCounts& other);  // same shape (or this one empty)

    // rows = layers (layer 0 at the top, labelled by id), cols = experts, NaN for dense layers.
    viz::HeatmapData toHeatmap(const QString& value_title) const;
};

}  // namespace moe::ui
