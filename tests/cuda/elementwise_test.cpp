// CUDA elementwise ops vs the CPU reference: add, slices, concatenation (exact); the prefill
// SwiGLU from bf16 gate/up rows against a CPU twin in double.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda_test_util.h"
#include "elementwise.h"

namespace moe::test {
namespace {

using CudaElementwise = CudaTest;

TEST_F(CudaElementwise, AddSliceConcatMatchExactly) {
    const int64_t T = 7, C = 45;
    const auto a = random_f32(size_t(T * C), seed), b = random_f32(size_t(T * C), seed + 1);
    auto [ca, ga] = both(a, T, C);
    auto [cb, gb] = both(b, T, C);
    EXPECT_EQ(gpu->download(gpu->add(ga, gb)), cpu.download(cpu.add(ca, cb)));  // T·C odd: the scalar form
    cpu.add_inplace(ca, cb);
    gpu->add_inplace(ga, gb);
    EXPECT_EQ(gpu->download(ga), cpu.download(ca));
    {  // a multiple of 4: the four-wide form, and the same bits as add_inplace onto a copy
        auto [c4a, g4a] = both(std::vector<float>(a.begin(), a.begin() + 32), 4, 8);
        auto [c4b, g4b] = both(std::vector<float>(b.begin(), b.begin() + 32), 4, 8);
        const std::vector<float> sum = gpu->download(gpu->add(g4a, g4b));
        cpu.add_inplace(c4a, c4b);
        EXPECT_EQ(sum, cpu.download(c4a));
        gpu->add_inplace(g4a, g4b);  // the four-wide in-place form
        EXPECT_EQ(gpu->download(g4a), cpu.download(c4a));
        EXPECT_THROW(gpu->add(g4a, gpu->alloc(4, 9)), std::exception);
    }
    EXPECT_EQ(gpu->download(gpu->slice_cols(ga, 3, 17)), cpu.download(cpu.slice_cols(ca, 3, 17)));
    EXPECT_EQ(gpu->download(gpu->slice_rows(ga, 2, 4)), cpu.download(cpu.slice_rows(ca, 2, 4)));
    EXPECT_EQ(gpu->download(gpu->concat_cols(ga, gb)), cpu.download(cpu.concat_cols(ca, cb)));
    EXPECT_THROW(gpu->slice_cols(ga, 40, 6), std::exception);
    EXPECT_THROW(gpu->add_inplace(ga, gpu->alloc(T, C + 1)), std::exception);
}

TEST_F(CudaElementwise, AllocIsZeroAndRoundTripsI32) {
    EXPECT_EQ(gpu->download(gpu->alloc(3, 5)), std::vector<float>(15, 0.0f));
    const std::vector<int32_t> ids = {4, -1, 7, 1 << 30};
    EXPECT_EQ(gpu->download_i32(gpu->upload_i32(ids, 2, 2)), ids);
}

// silu_mul_bf16_to_bf16: h = silu(g) u from bf16 gate/up rows [rows, 2 inter], bf16 out. CPU twin in
// double from the same bf16 inputs; the only difference is the output's one bf16 rounding, so the
// bf16 tolerance kNmseBf16 (3e-5) holds with a wide margin (expected NMSE ~1e-6). inter 100: the
// 4-wide kernel; 98: the scalar one. A NaN gate must give a NaN output (NaN parity); 64 guard words
// after the output stay untouched.
TEST_F(CudaElementwise, SiluMulBf16MatchesCpu) {
    constexpr int64_t kGuard = 64;
    constexpr uint16_t kGuardWord = 0xABAB;
    auto to_bits = [](float f) { uint32_t w; std::memcpy(&w, &f, 4); return uint16_t(w >> 16); };
    auto to_f32 = [](uint16_t b) { const uint32_t w = uint32_t(b) << 16; float f; std::memcpy(&f, &w, 4); return f; };
    for (const int64_t inter : {int64_t(100), int64_t(98)}) {
        const int64_t rows = 37, n = rows * inter;
        SCOPED_TRACE("inter " + std::to_string(inter));
        const std::vector<float> vals = random_bf16_exact(size_t(rows * 2 * inter), ++seed, -6.0f, 6.0f);
        std::vector<uint16_t> gu(vals.size());
        for (size_t i = 0; i < vals.size(); ++i) gu[i] = to_bits(vals[i]);
        gu[size_t(5 * 2 * inter + 3)] = to_bits(std::numeric_limits<float>::quiet_NaN());  // row 5, gate 3
        std::vector<float> ref(static_cast<size_t>(n));
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < inter; ++c) {
                const double g = to_f32(gu[size_t(r * 2 * inter + c)]), u = to_f32(gu[size_t(r * 2 * inter + inter + c)]);
                ref[size_t(r * inter + c)] = float(g / (1.0 + std::exp(-g)) * u);
            }
        cuda::DeviceBuffer in(gu.size() * 2, "SwiGLU test input");
        cuda::DeviceBuffer out(size_t(n + kGuard) * 2, "SwiGLU test output");
        ASSERT_EQ(cudaMemcpyAsync(in.get(), gu.data(), in.bytes(), cudaMemcpyHostToDevice, gpu->stream()), cudaSuccess);
        ASSERT_EQ(cudaMemsetAsync(out.get(), 0xAB, out.bytes(), gpu->stream()), cudaSuccess);
        ASSERT_EQ(kernels::silu_mul_bf16_to_bf16(in.as<uint16_t>(), rows, inter, out.as<uint16_t>(), gpu->stream()),
                  cudaSuccess);
        std::vector<uint16_t> bits(size_t(n + kGuard));
        ASSERT_EQ(cudaMemcpyAsync(bits.data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost, gpu->stream()), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(gpu->stream()), cudaSuccess);
        std::vector<float> got(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) got[size_t(i)] = to_f32(bits[size_t(i)]);
        for (int64_t g = 0; g < kGuard; ++g) EXPECT_EQ(bits[size_t(n + g)], kGuardWord) << "guard word " << g;
        EXPECT_TRUE(close(got, ref, kNmseBf16));
    }
}

}  // namespace
}  // namespace moe::test
