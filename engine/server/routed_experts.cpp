#include "server/routed_experts.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/error.h"

namespace moe::server {

RoutingRecorder::RoutingRecorder(RoutingTrace& trace, int64_t num_layers, int64_t top_k)
    : trace_(trace), layers_(std::max<int64_t>(num_layers, 1)), top_k_(std::max<int64_t>(top_k, 1)) {
    observer_id_ = trace_.add_observer([this](const ForwardRouting& f, const RoutingTrace&) { on_forward(f); });
}

RoutingRecorder::~RoutingRecorder() { trace_.remove_observer(observer_id_); }

void RoutingRecorder::on_forward(const ForwardRouting& f) {
    if (f.mtp) return;  // draft-layer routing is not part of the sequence
    std::lock_guard lock(mutex_);
    std::vector<int32_t>& data = tracks_[f.sequence].data;
    std::vector<float>& weights = tracks_[f.sequence].weights;
    const int64_t known = int64_t(data.size()) / row_size();
    data.resize(size_t(std::min(f.start_pos, known) * row_size()));
    if (f.start_pos > known) data.resize(size_t(f.start_pos * row_size()), -1);  // never seen: unknown
    const size_t base = data.size();
    data.resize(base + size_t(f.tokens * row_size()), -1);
    weights.resize(std::min(weights.size(), base), 0.0f);  // drop what the cache dropped,
    weights.resize(data.size(), 0.0f);                       // then zero the new rows
    for (const auto& [layer, routing] : f.layers) {
        if (layer < 0 || layer >= layers_) continue;  // MTP layers sit after the main ones
        const int64_t k = std::min(routing.top_k, top_k_);
        for (int64_t t = 0; t < f.tokens && t < routing.tokens(); ++t)
            for (int64_t j = 0; j < k; ++j) {
                const size_t at = base + size_t((t * layers_ + layer) * top_k_ + j);
                data[at] = routing.expert_ids[size_t(t * routing.top_k + j)];
                if (size_t(t * routing.top_k + j) < routing.weights.size())
                    weights[at] = routing.weights[size_t(t * routing.top_k + j)];
            }
    }
}

const RoutingRecorder::Track& RoutingRecorder::track(int64_t sequence) const {
    static const Track kEmpty;
    const auto it = tracks_.find(sequence);
    return it == tracks_.end() ? kEmpty : it->second;
}

int64_t RoutingRecorder::positions(int64_t sequence) const {
    std::lock_guard lock(mutex_);
    return int64_t(track(sequence).data.size()) / row_size();
}

std::vector<int32_t> RoutingRecorder::rows(int64_t sequence, int64_t begin, int64_t end) const {
    std::lock_guard lock(mutex_);
    const Track& t = track(sequence);
    const int64_t n = int64_t(t.data.size()) / row_size();
    begin = std::clamp<int64_t>(begin, 0, n);
    end = std::clamp<int64_t>(end, begin, n);
    return {t.data.begin() + begin * row_size(), t.data.begin() + end * row_size()};
}

std::vector<float> RoutingRecorder::weight_rows(int64_t sequence, int64_t begin, int64_t end) const {
    std::lock_guard lock(mutex_);
    const Track& t = track(sequence);
    const int64_t n = int64_t(t.weights.size()) / row_size();
    begin = std::clamp<int64_t>(begin, 0, n);
    end = std::clamp<int64_t>(end, begin, n);
    return {t.weights.begin() + begin * row_size(), t.weights.begin() + end * row_size()};
}

std::string base64_encode(const void* data, size_t bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* p = static_cast<const unsigned char*>(data);
    std::string out;
    out.reserve((bytes + 2) / 3 * 4);
    for (size_t i = 0; i < bytes; i += 3) {
        const uint32_t b0 = p[i], b1 = i + 1 < bytes ? p[i + 1] : 0, b2 = i + 2 < bytes ? p[i + 2] : 0;
        const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < bytes ? kAlphabet[(v >> 6) & 63] : '=';
        out += i + 2 < bytes ? kAlphabet[v & 63] : '=';
    }
    return out;
}

namespace {

// [tokens][layers][top_k] as nested arrays, or base64 of the raw little-endian values.
template <typename T>
Json rows_value(const std::vector<T>& rows, int64_t num_layers, int64_t top_k, bool as_json) {
    if (!as_json) {
        static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");
        return base64_encode(rows.data(), rows.size() * sizeof(T));
    }
    Json tokens = Json::array();
    const size_t row = size_t(num_layers * top_k);
    for (size_t t = 0; row > 0 && t < rows.size() / row; ++t) {
        Json layers = Json::array();
        for (int64_t l = 0; l < num_layers; ++l) {
            const auto first = rows.begin() + std::ptrdiff_t(t * row + size_t(l * top_k));
            layers.push_back(std::vector<T>(first, first + top_k));
        }
        tokens.push_back(std::move(layers));
    }
    return tokens;
}

}  // namespace

Json routed_experts_value(const std::vector<int32_t>& rows, int64_t num_layers, int64_t top_k, bool as_json) {
    return rows_value(rows, num_layers, top_k, as_json);
}

Json routed_expert_weights_value(const std::vector<float>& rows, int64_t num_layers, int64_t top_k, bool as_json) {
    static_assert(sizeof(float) == 4, "the wire format is float32");
    return rows_value(rows, num_layers, top_k, as_json);
}

}  // namespace moe::server
