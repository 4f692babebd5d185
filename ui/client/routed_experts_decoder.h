// Decodes the routed experts of one finished request into RoutedExperts, from either server:
//  - our engine: sglext.routed_experts (base64 LE int32 or nested JSON arrays) with
//    workbench.routed_experts {"shape": [T, L, K], "start_len", "moe_layers"} describing it, and
//    sglext.routed_expert_weights (base64 LE float32, same shape);
//  - SGLang: meta_info.routed_experts (native /generate) or sglext.routed_experts (OpenAI routes),
//    base64 LE int32 [seqlen - 1, num_hidden_layers, top_k] with no shape attached, so the layer
//    count and top_k come from a hint (the model's config); dense layers are zeros there and are
//    rewritten to -1 here, as our engine sends them.
#pragma once

#include <QJsonObject>
#include <QString>

#include <optional>

#include "engine_client.h"

namespace moe::ui {

struct RoutingShapeHint {
    int layers = 0;     // num_hidden_layers
    int top_k = 0;      // num_experts_per_tok
    int start_len = 0;  // the request's routed_experts_start_len
};

// nullopt when `final_chunk` carries no routed experts. Throws std::runtime_error with a readable
// message when the payload is there but broken (bad base64, a size that fits no shape).
std::optional<RoutedExperts> decode_routed_experts(const QJsonObject& final_chunk, const RoutingShapeHint& hint);

}  // namespace moe::ui
