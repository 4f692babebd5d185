#include "telemetry/routing_trace.h"

#include <string>

#include "core/error.h"

namespace moe {

void RoutingTrace::add_layer(int64_t layer, int64_t n_experts, std::vector<float> bias) {
    std::lock_guard lock(mutex_);
    load_[layer].assign(size_t(n_experts), 0);
    if (!bias.empty()) bias_[layer] = std::move(bias);
}

std::vector<int64_t> RoutingTrace::layers() const {
    std::lock_guard lock(mutex_);
    std::vector<int64_t> out;
    for (const auto& [layer, counts] : load_) out.push_back(layer);
    return out;
}

void RoutingTrace::set_enabled(bool on) {
    std::lock_guard lock(mutex_);
    enabled_ = on;
}

bool RoutingTrace::enabled() const {
    std::lock_guard lock(mutex_);
    return enabled_;
}

void RoutingTrace::begin_forward(int64_t start_pos, int64_t tokens, bool mtp, int64_t sequence) {
    std::lock_guard lock(mutex_);
    current_ = ForwardRouting{start_pos, tokens, mtp, sequence, {}};
}

void RoutingTrace::record(int64_t layer, int64_t top_k, std::vector<int32_t> ids, std::vector<float> weights) {
    std::lock_guard lock(mutex_);
    auto it = load_.find(layer);
    if (it == load_.end())
        throw_invalid_argument("routing trace: layer " + std::to_string(layer) + " was not declared");
    if (ids.size() != weights.size() || top_k <= 0 || int64_t(ids.size()) != current_.tokens * top_k)
        throw_invalid_argument("routing trace: ids/weights do not match [tokens, top_k]");
    current_.layers[layer] = LayerRouting{top_k, std::move(ids), std::move(weights)};  // counted by publish()
}

void RoutingTrace::end_forward() {
    ForwardRouting f;
    {
        std::lock_guard lock(mutex_);
        f = std::move(current_);
        current_ = {};
        if (hold_next_ && !f.mtp) {
            hold_next_ = false;
            held_ = std::move(f);
            return;
        }
    }
    publish(std::move(f));
}

void RoutingTrace::publish(ForwardRouting f) {
    std::map<int, Observer> observers;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [layer, routing] : f.layers) {
            auto it = load_.find(layer);
            if (it == load_.end()) continue;  // record() checked it
            for (int32_t e : routing.expert_ids)
                if (e >= 0 && size_t(e) < it->second.size()) ++it->second[size_t(e)];
        }
        last_ = std::move(f);
        ++forwards_;
        observers = observers_;
    }
    // Outside the lock: observers may call snapshot().
    for (const auto& [id, observer] : observers) observer(last_, *this);
}

void RoutingTrace::hold_next_forward() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
    held_.reset();
}

void RoutingTrace::commit_held(int64_t rows) {
    ForwardRouting f;
    {
        std::lock_guard lock(mutex_);
        if (!held_) throw_invalid_argument("routing trace: commit_held without a held forward");
        if (rows < 0 || rows > held_->tokens)
            throw_invalid_argument("routing trace: commit_held(" + std::to_string(rows) + ") of a forward of " +
                                   std::to_string(held_->tokens) + " tokens");
        f = std::move(*held_);
        held_.reset();
    }
    f.tokens = rows;
    for (auto& [layer, routing] : f.layers) {
        routing.expert_ids.resize(size_t(rows * routing.top_k));
        routing.weights.resize(size_t(rows * routing.top_k));
    }
    publish(std::move(f));
}

void RoutingTrace::discard_held() {
    std::lock_guard lock(mutex_);
    hold_next_ = false;
    held_.reset();
}

bool RoutingTrace::holding() const {
    std::lock_guard lock(mutex_);
    return hold_next_ || held_.has_value();
}

ForwardRouting RoutingTrace::last_forward() const {
    std::lock_guard lock(mutex_);
    return last_;
}

std::vector<uint64_t> RoutingTrace::expert_load(int64_t layer) const {
    std::lock_guard lock(mutex_);
    auto it = load_.find(layer);
    return it == load_.end() ? std::vector<uint64_t>{} : it->second;
}

std::vector<float> RoutingTrace::bias(int64_t layer) const {
    std::lock_guard lock(mutex_);
    auto it = bias_.find(layer);
    return it == bias_.end() ? std::vector<float>{} : it->second;
}

RoutingSnapshot RoutingTrace::snapshot() const {
    std::lock_guard lock(mutex_);
    return RoutingSnapshot{last_, load_, bias_, forwards_};
}

void RoutingTrace::reset_load() {
    std::lock_guard lock(mutex_);
    for (auto& [layer, counts] : load_) std::fill(counts.begin(), counts.end(), 0);
    forwards_ = 0;
}

int RoutingTrace::add_observer(Observer observer) {
    std::lock_guard lock(mutex_);
    const int id = next_observer_id_++;
    observers_[id] = std::move(observer);
    return id;
}

void RoutingTrace::remove_observer(int id) {
    std::lock_guard lock(mutex_);
    observers_.erase(id);
}

}  // namespace moe
