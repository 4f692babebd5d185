// Where a training step's time goes: wall time per named part (MOE_TRAIN_PROFILE=1, or enable()).
// Each scope waits for the device's queued work at its start and at its end (the hook the caller
// installs), so a part's time is its kernels plus the host work that launched them; the waits make
// the step slower than without, so this is a profile, never a benchmark. Parts nest: a scope opened
// inside another is reported under "outer/inner", and an outer part's time includes its inner parts.
#pragma once

#include <functional>
#include <string>

namespace moe::train {

class StepProfile {
public:
    // On when MOE_TRAIN_PROFILE=1 was set at start-up, or after enable().
    static bool enabled();
    static void enable(std::function<void()> wait_for_device);
    static void reset();
    // One line per part: name, calls, total ms, ms per call, share of the top-level parts' total.
    static std::string table();

    class Scope {
    public:
        explicit Scope(const char* name);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        bool active_ = false;
        double start_ = 0;
    };
};

}  // namespace moe::train
