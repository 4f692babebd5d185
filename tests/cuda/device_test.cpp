// Device discovery and the out-of-memory path: a request larger than the GPU fails with
// cuda.out_of_memory naming the GiB needed and free, and the same process then loads a smaller
// model on the same backend (OOM is not sticky; the pool's cache is trimmed and retried).
#include <string>

#include "core/device_fault.h"
#include "cuda/cuda_check.h"
#include "cuda_test_util.h"

namespace moe::test {
namespace {

TEST(CudaDevice, ReportsWhyItCannotRunOrNamesTheDevice) {
    const std::string reason = cuda_unavailable_reason();
    if (!reason.empty()) {
        // Without a GPU the reason is one of the documented codes, and constructing the backend throws it.
        EXPECT_TRUE(reason.rfind("cuda.no_device", 0) == 0 || reason.rfind("cuda.driver_too_old", 0) == 0 ||
                    reason.rfind("cuda.unsupported_device", 0) == 0)
            << reason;
        EXPECT_THROW(CudaBackend(), Error);
        GTEST_SKIP() << "no CUDA device: " << reason;
    }
    CudaBackend be;
    EXPECT_NE(be.name().find("sm_"), std::string::npos) << be.name();
    EXPECT_GT(be.device().sm_count, 0);
}

// The errors that lose the context are told apart from the ones a caller recovers from (host logic:
// runs without a GPU); throwing one reports the loss once for `serve` to exit on.
TEST(CudaErrors, StickyErrorsAreDeviceFaults) {
    for (const cudaError_t e : {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorIllegalInstruction,
                                cudaErrorMisalignedAddress, cudaErrorAssert, cudaErrorECCUncorrectable})
        EXPECT_STREQ(cuda::cuda_error_code(e), "cuda.device_fault") << cudaGetErrorName(e);
    EXPECT_STREQ(cuda::cuda_error_code(cudaErrorMemoryAllocation), "cuda.out_of_memory");
    EXPECT_STREQ(cuda::cuda_error_code(cudaErrorInvalidValue), "cuda.error");
    try {
        cuda::throw_cuda_error(cudaErrorIllegalAddress, "kernel()", __FILE__, __LINE__);
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), "cuda.device_fault");
        EXPECT_NE(std::string(err.what()).find("the GPU context is lost"), std::string::npos) << err.what();
    }
    ASSERT_TRUE(device_fault().has_value());
    EXPECT_NE(device_fault()->find("cudaErrorIllegalAddress"), std::string::npos) << *device_fault();
}

using CudaOom = CudaTest;

TEST_F(CudaOom, OutOfMemoryIsReportedAndRecoverable) {
    const size_t total = gpu->device().total_bytes;
    const int64_t cols = 1 << 16;
    const int64_t rows = int64_t(total / 2 / cols) * 2;  // bf16: twice the GPU
    try {
        gpu->random_weight(rows, cols, seed, 0.1f);
        FAIL() << "a " << rows << " x " << cols << " bf16 weight did not fail";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "cuda.out_of_memory");
        EXPECT_NE(std::string(e.what()).find("GiB"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("free"), std::string::npos) << e.what();
    }
    try {
        gpu->alloc(int64_t(total / 4 / 1024) * 2, 1024);  // activations: through the pool
        FAIL() << "an activation tensor twice the GPU did not fail";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "cuda.out_of_memory") << e.what();
    }
    // Afterwards: ordinary work on the same backend.
    auto [cx, gx] = both(random_f32(64 * 256, seed), 64, 256);
    auto [cw, gw] = both_weights(random_bf16_exact(256 * 256, seed + 1), 256, 256);
    EXPECT_TRUE(close(gpu->download(gpu->linear(gx, gw)), cpu.download(cpu.linear(cx, cw)), kNmseBf16));
}

}  // namespace
}  // namespace moe::test
