#include "train/step_profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

namespace moe::train {

namespace {

struct Part {
    int64_t calls = 0;
    double seconds = 0;
};

struct State {
    bool on = [] {
        const char* v = std::getenv("MOE_TRAIN_PROFILE");
        return v && v[0] == '1';
    }();
    std::function<void()> wait;
    std::vector<std::string> stack;  // names of the open scopes, outermost first
    std::map<std::string, Part> parts;
};

State& state() {
    static State s;
    return s;
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void wait_for_device() {
    if (state().wait) state().wait();
}

}  // namespace

bool StepProfile::enabled() { return state().on; }

void StepProfile::enable(std::function<void()> wait) {
    state().on = true;
    state().wait = std::move(wait);
}

void StepProfile::reset() { state().parts.clear(); }

std::string StepProfile::table() {
    const State& s = state();
    double top = 0;
    for (const auto& [name, p] : s.parts)
        if (name.find('/') == std::string::npos) top += p.seconds;
    std::string out = "  part                                         calls   total ms    ms/call   share\n";
    char line[256];
    for (const auto& [name, p] : s.parts) {
        std::snprintf(line, sizeof line, "  %-44s %6ld %10.2f %10.3f %6.1f%%\n", name.c_str(), long(p.calls),
                      p.seconds * 1e3, p.seconds * 1e3 / double(std::max<int64_t>(1, p.calls)),
                      top > 0 ? 100 * p.seconds / top : 0.0);
        out += line;
    }
    return out;
}

StepProfile::Scope::Scope(const char* name) {
    State& s = state();
    if (!s.on) return;
    active_ = true;
    wait_for_device();
    s.stack.push_back(s.stack.empty() ? std::string(name) : s.stack.back() + "/" + name);
    start_ = now_s();
}

StepProfile::Scope::~Scope() {
    if (!active_) return;
    State& s = state();
    wait_for_device();
    Part& p = s.parts[s.stack.back()];
    ++p.calls;
    p.seconds += now_s() - start_;
    s.stack.pop_back();
}

}  // namespace moe::train
