// The persistent wgmma grouped GEMM (variants 8, 9) copying its operands with the tensor memory
// accelerator (GroupedGemmArgs::a_tensor ..: every problem's rows inside one tensor per operand, as
// the MoE path lays them out — gathered token rows, stacked expert weights) against the same call
// with cp.async copies, and against a float64 product. A tile's rows past its problem then hold the
// next problem's rows, or zeros past the tensor; K (200) ends inside a k-tile; the row stride
// differs from K. Tolerances: TMA and cp.async outputs bit-identical (the same wgmma over the same
// values: rows and columns past a problem reach only outputs that are not stored); against
// float64, f32 output NMSE <= 1e-9, the SwiGLU's bf16 output kNmseBf16.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "cuda/cuda_check.h"
#include "cuda/device_buffer.h"
#include "cuda_test_util.h"
#include "grouped_gemm.h"

namespace moe::test {
namespace {

constexpr int kK = 200, kLd = 208, kRank = 16, kRankLd = 24;
const std::vector<int> kRows = {0, 1, 37, 129, 300};  // problem i: expert i's rows, back to back in A

// bf16 values of `v` on the device.
cuda::DeviceBuffer upload_bf16(const std::vector<float>& v) {
    std::vector<uint16_t> b(v.size());
    for (size_t i = 0; i < v.size(); ++i) b[i] = f32_to_bf16(v[i]);
    cuda::DeviceBuffer d(b.size() * 2);
    MOE_CUDA_CHECK(cudaMemcpy(d.as<void>(), b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    return d;
}

const unsigned char* bytes(const cuda::DeviceBuffer& b) { return b.as<unsigned char>(); }

class CudaGroupedGemmTma : public CudaTest {
protected:
    // Runs `problems` once with cp.async copies and once with the tensors, returns both outputs
    // (c_bytes of `c` each) after checking that the second call takes the TMA path.
    std::pair<std::vector<unsigned char>, std::vector<unsigned char>> run_both(
        kernels::GroupedGemmArgs args, const std::vector<kernels::GroupedGemmProblem>& problems,
        cuda::DeviceBuffer& c) {
        std::vector<int32_t> tile_start{0};
        for (const auto& p : problems)
            tile_start.push_back(tile_start.back() + kernels::grouped_gemm_tiles(p.m, p.n, args.variant));
        cuda::DeviceBuffer d_problems(problems.size() * sizeof(problems[0])), d_tiles(tile_start.size() * 4);
        MOE_CUDA_CHECK(cudaMemcpy(d_problems.as<void>(), problems.data(), d_problems.bytes(), cudaMemcpyHostToDevice));
        MOE_CUDA_CHECK(cudaMemcpy(d_tiles.as<void>(), tile_start.data(), d_tiles.bytes(), cudaMemcpyHostToDevice));
        args.problems = d_problems.as<kernels::GroupedGemmProblem>();
        args.tile_start = d_tiles.as<int32_t>();
        args.count = int32_t(problems.size());
        args.total_tiles = tile_start.back();
        std::vector<unsigned char> out[2];
        for (int tma = 0; tma < 2; ++tma) {
            kernels::GroupedGemmArgs a = args;
            if (!tma) a.a_tensor = a.b_tensor = a.a2_tensor = a.b2_tensor = {};
            EXPECT_EQ(kernels::grouped_gemm_tma_ready(a), tma == 1) << "the call with tensors copies with TMA";
            MOE_CUDA_CHECK(cudaMemset(c.as<void>(), 0x7F, c.bytes()));  // a pattern: unwritten stays as it was
            MOE_CUDA_CHECK(kernels::grouped_gemm_bf16(a, nullptr));
            MOE_CUDA_CHECK(cudaDeviceSynchronize());
            out[tma].resize(c.bytes());
            MOE_CUDA_CHECK(cudaMemcpy(out[tma].data(), c.as<void>(), c.bytes(), cudaMemcpyDeviceToHost));
        }
        return {std::move(out[0]), std::move(out[1])};
    }
};

// Plain products (f32 out), B stored K-contiguous (the forward's weights) or N-contiguous (the
// input gradient's), with and without a LoRA-like second product (rank 16), on both persistent
// tiles and on a grid of 3 blocks that walk many tiles.
TEST_F(CudaGroupedGemmTma, MatchesCpAsyncBitForBitAndFloat64) {
    if (!kernels::grouped_gemm_swiglu_available()) GTEST_SKIP() << "TMA copies need a wgmma GPU (sm_90)";
    const int n = 136, E = int(kRows.size()), ldc = n + 8, ldn = n + 8;
    int total_rows = 0;
    for (int r : kRows) total_rows += r;
    const auto a = random_bf16_exact(size_t(total_rows) * kLd, seed);
    const auto a2 = random_bf16_exact(size_t(total_rows) * kRankLd, seed + 1);
    // Expert e's B: [n, K] rows at e·n (K-contiguous, ld kLd) or [K, n] rows at e·K (ld ldn); B2 likewise.
    const auto b = random_bf16_exact(size_t(E) * std::max(n * kLd, kK * ldn), seed + 2);
    const auto b2 = random_bf16_exact(size_t(E) * std::max(n * kRank, kRank * ldn), seed + 3);
    const auto d_a = upload_bf16(a), d_b = upload_bf16(b), d_a2 = upload_bf16(a2), d_b2 = upload_bf16(b2);
    cuda::DeviceBuffer c(size_t(total_rows) * ldc * 4);
    for (const bool b_k : {true, false})
        for (const bool second : {false, true})
            for (const int variant : {kernels::kGroupedWgmmaWs, kernels::kGroupedWgmmaWsWide})
                for (const int max_blocks : {0, 3}) {
                    SCOPED_TRACE(std::string(b_k ? "B K-contiguous" : "B N-contiguous") +
                                 (second ? ", second product" : ", one product") + ", variant " +
                                 std::to_string(variant) + ", max_blocks " + std::to_string(max_blocks));
                    const int ldb = b_k ? kLd : ldn, ldb2 = b_k ? kRank : ldn;
                    const int64_t b_rows = b_k ? n : kK, b2_rows = b_k ? n : kRank;  // an expert's B rows
                    auto b_at = [&](int e, int k, int j) {  // B_e[k, j]
                        return b_k ? b[(size_t(e) * n + j) * kLd + k] : b[(size_t(e) * kK + k) * ldn + j];
                    };
                    auto b2_at = [&](int e, int k, int j) {
                        return b_k ? b2[(size_t(e) * n + j) * kRank + k] : b2[(size_t(e) * kRank + k) * ldn + j];
                    };
                    std::vector<kernels::GroupedGemmProblem> problems;
                    int row0 = 0;
                    for (int e = 0; e < E; ++e) {
                        kernels::GroupedGemmProblem p{bytes(d_a) + size_t(row0) * kLd * 2,
                                                      bytes(d_b) + size_t(e) * b_rows * ldb * 2,
                                                      c.as<unsigned char>() + size_t(row0) * ldc * 4,
                                                      kRows[e], n, kK, kLd, ldb, ldc};
                        if (second) {
                            p.a2 = bytes(d_a2) + size_t(row0) * kRankLd * 2;
                            p.b2 = bytes(d_b2) + size_t(e) * b2_rows * ldb2 * 2;
                            p.k2 = kRank;
                            p.lda2 = kRankLd;
                            p.ldb2 = ldb2;
                        }
                        ASSERT_TRUE(kernels::grouped_gemm_supported(p, true, b_k));
                        problems.push_back(p);
                        row0 += kRows[e];
                    }
                    kernels::GroupedGemmArgs args;
                    args.b_k_contig = b_k;
                    args.alpha = 0.75f;
                    args.variant = variant;
                    args.max_blocks = max_blocks;
                    args.a_tensor = {d_a.as<void>(), total_rows, kK, kLd};
                    args.b_tensor = {d_b.as<void>(), E * b_rows, b_k ? kK : n, ldb};
                    if (second) {
                        args.a2_tensor = {d_a2.as<void>(), total_rows, kRank, kRankLd};
                        args.b2_tensor = {d_b2.as<void>(), E * b2_rows, b_k ? kRank : n, ldb2};
                    }
                    const auto [copied, tma] = run_both(args, problems, c);
                    ASSERT_EQ(copied.size(), tma.size());
                    EXPECT_EQ(std::memcmp(copied.data(), tma.data(), tma.size()), 0) << "TMA and cp.async outputs differ";
                    std::vector<float> all(size_t(total_rows) * ldc), got, ref;
                    std::memcpy(all.data(), tma.data(), tma.size());
                    row0 = 0;
                    for (int e = 0; e < E; ++e) {
                        for (int r = 0; r < kRows[e]; ++r)
                            for (int j = 0; j < n; ++j) {
                                double s = 0;
                                for (int k = 0; k < kK; ++k) s += double(a[size_t(row0 + r) * kLd + k]) * b_at(e, k, j);
                                for (int k = 0; second && k < kRank; ++k)
                                    s += double(a2[size_t(row0 + r) * kRankLd + k]) * b2_at(e, k, j);
                                ref.push_back(float(0.75 * s));
                                got.push_back(all[size_t(row0 + r) * ldc + j]);
                            }
                        row0 += kRows[e];
                    }
                    EXPECT_TRUE(close(got, ref, 1e-9));
                }
}

// The SwiGLU epilogue's tile: B boxes of 128 gate rows and the same 128 up rows of each expert's
// [2·inter, K] weights (inter 136: the second tile's boxes reach into the next expert's rows).
TEST_F(CudaGroupedGemmTma, SwigluMatchesCpAsyncBitForBitAndFloat64) {
    if (!kernels::grouped_gemm_swiglu_available()) GTEST_SKIP() << "TMA copies need a wgmma GPU (sm_90)";
    const int inter = 136, E = int(kRows.size()), ldh = inter + 8;
    int total_rows = 0;
    for (int r : kRows) total_rows += r;
    const auto x = random_bf16_exact(size_t(total_rows) * kLd, seed);
    const auto w = random_bf16_exact(size_t(E) * 2 * inter * kLd, seed + 1);
    const auto d_x = upload_bf16(x), d_w = upload_bf16(w);
    cuda::DeviceBuffer h(size_t(total_rows) * ldh * 2);
    std::vector<kernels::GroupedGemmProblem> problems;
    int row0 = 0;
    for (int e = 0; e < E; ++e) {
        problems.push_back({bytes(d_x) + size_t(row0) * kLd * 2, bytes(d_w) + size_t(e) * 2 * inter * kLd * 2,
                            h.as<unsigned char>() + size_t(row0) * ldh * 2, kRows[e], 2 * inter, kK, kLd, kLd, ldh});
        row0 += kRows[e];
    }
    kernels::GroupedGemmArgs args;
    args.c_bf16 = true;
    args.alpha = 0.75f;
    args.variant = kernels::kGroupedWgmmaWsWide;
    args.swiglu = true;
    args.a_tensor = {d_x.as<void>(), total_rows, kK, kLd};
    args.b_tensor = {d_w.as<void>(), int64_t(E) * 2 * inter, kK, kLd};
    const auto [copied, tma] = run_both(args, problems, h);
    EXPECT_EQ(std::memcmp(copied.data(), tma.data(), tma.size()), 0) << "TMA and cp.async outputs differ";
    std::vector<uint16_t> h16(size_t(total_rows) * ldh);
    std::memcpy(h16.data(), tma.data(), tma.size());
    std::vector<float> got, ref;
    row0 = 0;
    for (int e = 0; e < E; ++e) {
        for (int r = 0; r < kRows[e]; ++r)
            for (int j = 0; j < inter; ++j) {
                double g = 0, u = 0;
                for (int k = 0; k < kK; ++k) {
                    const double xv = x[size_t(row0 + r) * kLd + k];
                    g += xv * w[(size_t(e) * 2 * inter + j) * kLd + k];
                    u += xv * w[(size_t(e) * 2 * inter + inter + j) * kLd + k];
                }
                g *= 0.75;
                u *= 0.75;
                ref.push_back(float(g / (1.0 + std::exp(-g)) * u));
                got.push_back(bf16_to_f32(h16[size_t(row0 + r) * ldh + j]));
            }
        row0 += kRows[e];
    }
    EXPECT_TRUE(close(got, ref, kNmseBf16));
}

}  // namespace
}  // namespace moe::test
