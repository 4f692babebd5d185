// A gtest suite whose tests share one `moe-engine serve` of the deepseek-v3-tiny fixture (CPU),
// started once for the suite (starting a server per test would dominate the suite's run time).
#pragma once

#include <gtest/gtest.h>

#include "api_client.h"
#include "server_process.h"

namespace moe::test {

class TinyServerSuite : public ::testing::Test {
protected:
    static void SetUpTestSuite() { server_ = new ServerProcess({model_dir("deepseek-v3-tiny"), "", {}}); }
    static void TearDownTestSuite() {
        EXPECT_EQ(server_->stop(), 0);  // a clean shutdown is part of what every suite checks
        delete server_;
        server_ = nullptr;
    }
    static ApiClient client() { return ApiClient(server_->port()); }

    // One suite runs at a time, so the suites can share the slot.
    static inline ServerProcess* server_ = nullptr;
};

}  // namespace moe::test
