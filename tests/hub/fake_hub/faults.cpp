#include "fake_hub/faults.h"

#include <stdexcept>

namespace moe::fakehub {

void FaultBoard::add(const nlohmann::json& spec) {
    Fault f;
    f.match = spec.value("match", "");
    f.kind = spec.at("kind").get<std::string>();
    f.at = spec.value("at", uint64_t(0));
    f.bps = spec.value("bps", 0.0);
    f.seconds = spec.value("seconds", 0.0);
    f.status = spec.value("status", 0);
    f.retry_after = spec.value("retry_after", -1);
    f.error_code = spec.value("error_code", "");
    f.times = spec.value("times", -1);
    static const char* kinds[] = {"throttle", "truncate", "reset", "stall", "ignore_range", "wrong_range", "corrupt", "status"};
    bool known = false;
    for (const char* k : kinds) known = known || f.kind == k;
    if (!known) throw std::invalid_argument("unknown fault kind '" + f.kind + "'");
    std::lock_guard<std::mutex> g(mu_);
    faults_.push_back(f);
}

void FaultBoard::clear() {
    std::lock_guard<std::mutex> g(mu_);
    faults_.clear();
    log_ = nlohmann::json::array();
}

bool FaultBoard::consume(Fault& f, const std::string& path) {
    if (f.times == 0 || path.find(f.match) == std::string::npos) return false;
    if (f.times > 0) --f.times;
    return true;
}

Fault FaultBoard::take_status(const std::string& path) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& f : faults_)
        if (f.kind == "status" && consume(f, path)) return f;
    return {};
}

BodyFaults FaultBoard::take_body(const std::string& path, bool has_range) {
    std::lock_guard<std::mutex> g(mu_);
    BodyFaults b;
    b.bps = default_bps;
    for (auto& f : faults_) {
        const bool range_fault = f.kind == "ignore_range" || f.kind == "wrong_range";
        if (f.kind == "status" || (range_fault && !has_range) || !consume(f, path)) continue;
        if (f.kind == "throttle") b.bps = f.bps;
        if (f.kind == "truncate") b.truncate_at = int64_t(f.at);
        if (f.kind == "reset") b.reset_at = int64_t(f.at);
        if (f.kind == "stall") {
            b.stall_at = int64_t(f.at);
            b.stall_seconds = f.seconds;
        }
        if (f.kind == "ignore_range") b.ignore_range = true;
        if (f.kind == "wrong_range") b.wrong_range = true;
        if (f.kind == "corrupt") b.corrupt = true;
    }
    return b;
}

int FaultBoard::log_request(const nlohmann::json& entry) {
    std::lock_guard<std::mutex> g(mu_);
    log_.push_back(entry);
    return int(log_.size()) - 1;
}

void FaultBoard::set_status(int index, int status) {
    std::lock_guard<std::mutex> g(mu_);
    if (index >= 0 && size_t(index) < log_.size()) log_[size_t(index)]["status"] = status;
}

nlohmann::json FaultBoard::log() const {
    std::lock_guard<std::mutex> g(mu_);
    return log_;
}

}  // namespace moe::fakehub
