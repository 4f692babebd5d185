#include "core/device_fault.h"

#include <mutex>

namespace moe {
namespace {
std::mutex& fault_mutex() {
    static std::mutex m;
    return m;
}
std::optional<std::string>& fault() {
    static std::optional<std::string> f;
    return f;
}
}  // namespace

void report_device_fault(const std::string& what) {
    std::lock_guard lock(fault_mutex());
    if (!fault()) fault() = what;
}

std::optional<std::string> device_fault() {
    std::lock_guard lock(fault_mutex());
    return fault();
}

}  // namespace moe
