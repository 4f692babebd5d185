// `moe-engine bench` as a child process: options it cannot honour are refused before any GPU work,
// so on every machine (no GPU needed) with a clear message and a non-zero exit.
#include <gtest/gtest.h>

#include "engine_child.h"

namespace moe::test {
namespace {

// --fp8-experts on a dense model (Qwen2: no routed experts) names the model and the flag.
TEST(BenchCli, Fp8ExpertsOnAModelWithoutRoutedExpertsIsRefused) {
    const CommandResult r = run_engine({"bench", "--models", "r1-distill-qwen-1.5b", "--fp8-experts"});
    if (r.err.find("no nvcc at build time") != std::string::npos)
        GTEST_SKIP() << "this build has no CUDA benchmarks: " << r.err;
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("bench.fp8_unsupported"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("r1-distill-qwen-1.5b"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--fp8-experts"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << "stdout carries only a result: " << r.out;
}

}  // namespace
}  // namespace moe::test
