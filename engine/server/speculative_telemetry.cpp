#include "server/speculative_telemetry.h"

#include <chrono>

namespace moe::server {
namespace {
double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

Json SpeculativeTelemetry::Rate::mean() const { return measured > 0 ? Json(sum / double(measured)) : Json(nullptr); }

void SpeculativeTelemetry::reset(int64_t mtp_modules) {
    std::lock_guard lock(mutex_);
    mtp_modules_ = mtp_modules;
    cumulative_ = {};
    domains_.clear();
    running_.clear();
    last_.reset();
    history_.clear();
    speculative_rate_ = {};
    plain_rate_ = {};
}

int64_t SpeculativeTelemetry::begin_request(const std::string& domain, bool speculative, int64_t draft_tokens) {
    std::lock_guard lock(mutex_);
    const int64_t id = next_request_++;
    running_[id] = Running{domain, speculative, draft_tokens, {}};
    return id;
}

void SpeculativeTelemetry::on_step(int64_t request, const SpeculativeStats& running) {
    std::lock_guard lock(mutex_);
    if (const auto it = running_.find(request); it != running_.end()) it->second.stats = running;
}

void SpeculativeTelemetry::end_request(int64_t request, const SpeculativeStats& final_stats,
                                       double decode_tokens_per_second, int64_t completion_tokens) {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(request);
    if (it == running_.end()) return;  // the model was reset meanwhile
    const Running r = std::move(it->second);
    running_.erase(it);
    Rate& rate = r.speculative ? speculative_rate_ : plain_rate_;
    ++rate.requests;
    if (decode_tokens_per_second > 0) {
        rate.sum += decode_tokens_per_second;
        ++rate.measured;
    }
    if (!r.speculative) return;
    cumulative_.add(final_stats);
    if (!r.domain.empty()) domains_[r.domain].add(final_stats);
    last_ = Record{unix_now(), r.domain, r.draft_tokens, final_stats, decode_tokens_per_second, completion_tokens};
    history_.push_back(*last_);
    while (history_.size() > kHistory) history_.pop_front();
}

void SpeculativeTelemetry::abort_request(int64_t request) {
    std::lock_guard lock(mutex_);
    running_.erase(request);
}

Json SpeculativeTelemetry::record_json(const Record& r) {
    Json j = r.stats.to_json();
    j["time"] = r.time;
    j["domain"] = r.domain.empty() ? Json(nullptr) : Json(r.domain);
    j["draft_tokens"] = r.draft_tokens;
    j["decode_tokens_per_second"] = r.decode_tokens_per_second;
    j["completion_tokens"] = r.completion_tokens;
    return j;
}

Json SpeculativeTelemetry::core_json() const {
    Json running = nullptr;  // the speculative request running now (it runs alone: at most one)
    for (const auto& [id, r] : running_) {
        if (!r.speculative) continue;
        running = r.stats.to_json();
        running["domain"] = r.domain.empty() ? Json(nullptr) : Json(r.domain);
        running["draft_tokens"] = r.draft_tokens;
    }
    const Json spec_rate = speculative_rate_.mean(), plain_rate = plain_rate_.mean();
    Json speedup = nullptr;
    if (!spec_rate.is_null() && !plain_rate.is_null() && plain_rate.get<double>() > 0)
        speedup = spec_rate.get<double>() / plain_rate.get<double>();
    return Json{{"mtp_modules", mtp_modules_},
                {"cumulative", cumulative_.to_json()},
                {"running", std::move(running)},
                {"last_request", last_ ? record_json(*last_) : Json(nullptr)},
                {"requests", {{"speculative", speculative_rate_.requests}, {"plain", plain_rate_.requests}}},
                {"decode_tokens_per_second",
                 {{"speculative", spec_rate}, {"plain", plain_rate}, {"speedup", std::move(speedup)}}}};
}

Json SpeculativeTelemetry::summary_json(size_t history) const {
    std::lock_guard lock(mutex_);
    Json j = core_json();
    Json domains = Json::object();
    for (const auto& [name, stats] : domains_) domains[name] = stats.to_json();
    j["domains"] = std::move(domains);
    Json h = Json::array();
    const size_t first = history_.size() > history ? history_.size() - history : 0;
    for (size_t i = first; i < history_.size(); ++i) h.push_back(record_json(history_[i]));
    j["history"] = std::move(h);
    return j;
}

Json SpeculativeTelemetry::snapshot_json() const {
    std::lock_guard lock(mutex_);
    return core_json();
}

}  // namespace moe::server
