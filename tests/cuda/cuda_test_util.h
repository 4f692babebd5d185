// Shared by the CUDA tests: the skip-or-backend fixture, fresh random inputs, and comparisons.
//
// Every test draws fresh random inputs (a new seed per run, printed on failure; MOE_TEST_SEED=N
// replays one). Tolerances are normalised mean squared errors, NMSE = Σ(gpu - cpu)² / Σ cpu²:
//   kNmseF32  paths that stay f32 end to end (GEMV, norms, rope, decode attention): only the
//             summation order differs from the CPU;
//   kNmseBf16 paths that round activations to bf16 for the tensor cores (GEMM, prefill MoE,
//             MLA prefill's latent expansion): one bf16 rounding (relative error 2^-9) per input
//             gives an expected NMSE near 1e-6.
// Weights are drawn as bf16-exact values so both backends multiply by the same numbers.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "cpu/cpu_backend.h"

namespace moe::test {

inline constexpr double kNmseF32 = 1e-9;
inline constexpr double kNmseBf16 = 3e-5;

// A fresh seed per call (random_device), or MOE_TEST_SEED + a counter when set.
uint64_t fresh_seed();
std::vector<float> random_f32(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// Values exactly representable in bf16.
std::vector<float> random_bf16_exact(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

double nmse(const std::vector<float>& got, const std::vector<float>& ref);
// NaN / Inf at the same places, then NMSE over the finite elements <= max_nmse.
::testing::AssertionResult close(const std::vector<float>& got, const std::vector<float>& ref, double max_nmse);

class CudaTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    // Makes the same tensor / weight on both backends.
    std::pair<Tensor, Tensor> both(const std::vector<float>& v, int64_t rows, int64_t cols);
    std::pair<Weight, Weight> both_weights(const std::vector<float>& v, int64_t rows, int64_t cols);

    CpuBackend cpu;
    std::unique_ptr<CudaBackend> gpu;
    uint64_t seed = 0;
};

// The device pointer behind a CUDA I32 tensor (device-input mode in tests).
inline int32_t* i32_ptr(Tensor& t) { return cuda::i32(t); }

// GTEST_SKIP()s the current test when no CUDA device can be used (for tests outside CudaTest).
#define MOE_SKIP_WITHOUT_CUDA()                                                     \
    do {                                                                            \
        const std::string moe_reason_ = ::moe::cuda_unavailable_reason();           \
        if (!moe_reason_.empty()) GTEST_SKIP() << "no CUDA device: " << moe_reason_; \
    } while (0)

}  // namespace moe::test
