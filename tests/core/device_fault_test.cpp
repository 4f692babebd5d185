// The lost-GPU-context latch (core/device_fault.h): nothing reported at first, then the first
// report and only it, from any thread.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/device_fault.h"

namespace moe {
namespace {

TEST(DeviceFault, KeepsTheFirstReport) {
    EXPECT_FALSE(device_fault().has_value());
    std::thread first([] { report_device_fault("launch failure in kernel A"); });
    first.join();
    std::vector<std::thread> later;
    for (int i = 0; i < 4; ++i) later.emplace_back([i] { report_device_fault("later " + std::to_string(i)); });
    for (std::thread& t : later) t.join();
    ASSERT_TRUE(device_fault().has_value());
    EXPECT_EQ(*device_fault(), "launch failure in kernel A");
}

}  // namespace
}  // namespace moe
