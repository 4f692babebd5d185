// `serve` after a lost GPU context (core/device_fault.h): the process stops by itself with exit
// status 3, saying why on stderr and nothing more on stdout, so that the workbench (which restarts
// an engine that exits after it was ready) brings it back. --test-device-fault-after-ms reports the
// loss without a GPU; on one, cuda/cuda_check.cpp reports it from the failing CUDA call.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine_child.h"

namespace moe::test {
namespace {

TEST(ServeDeviceFault, ExitsWithStatusThreeSoThatTheEngineIsRestarted) {
    EngineChild serve({"serve", "--port", "0", "--backend", "cpu", "--test-device-fault-after-ms", "200"});
    const nlohmann::json listening = nlohmann::json::parse(serve.read_line(60'000));
    ASSERT_EQ(listening["event"], "listening");
    const CommandResult r = serve.finish(0);  // no signal: it must stop on its own
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_EQ(r.out, "") << "stdout after the listening line";
    EXPECT_NE(r.err.find("the GPU context is lost (serve --test-device-fault-after-ms)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("exit status 3"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace moe::test
