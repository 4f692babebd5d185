// The grouped tensor-core GEMM (kernels/grouped_gemm.h) against a float64 product of the same
// bf16 inputs, for the three layouts of a linear layer's training step (forward, input gradient,
// weight gradient) and the fourth combination, f32 and bf16 outputs, beta 0 and 1, and problems
// of awkward sizes in one launch: empty, a single row, rows not a multiple of the tile, K past one
// pipeline stage or not a multiple of 32, some with a second product continuing their K (a LoRA
// term riding on its base projection: rank 16 or 40) — for every tile variant of the kernel, the
// persistent ones also on a grid of 2–3 blocks that each walk many tiles.
// Tolerances: f32 output NMSE <= 1e-9 (exact products, only the f32 summation order differs);
// bf16 output NMSE <= kNmseBf16 (one rounding of the result).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "cuda/cuda_check.h"
#include "cuda/device_buffer.h"
#include "cuda_test_util.h"
#include "grouped_gemm.h"

namespace moe::test {
namespace {

struct Shape {
    int m, n, k;
};

struct Layout {
    bool a_k, b_k, c_bf16;
    float beta;
};

class CudaGroupedGemm : public CudaTest, public ::testing::WithParamInterface<Layout> {};

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
    std::vector<uint16_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_bf16(v[i]);
    return out;
}

TEST_P(CudaGroupedGemm, MatchesAFloat64Product) {
    const Layout L = GetParam();
    // Contiguous extents are multiples of 8 (the kernel's requirement); the strided ones are free.
    const std::vector<Shape> shapes = {{0, 136, 64}, {1, 136, 64}, {37, 16, 264}, {300, 256, 40}, {128, 128, 32},
                                       {129, 72, 8},  {5, 392, 136}, {24, 40, 37}, {16, 8, 1}};
    std::vector<kernels::GroupedGemmProblem> problems;
    std::vector<std::vector<float>> a_host, b_host, c_host, a2_host, b2_host;
    std::vector<cuda::DeviceBuffer> bufs;
    for (size_t i = 0; i < shapes.size(); ++i) {
        Shape s = shapes[i];
        // A [m, k] stored K-contiguous (ld = k + 8) or M-contiguous (ld = m rounded up to 8, + 8);
        // a contiguous extent must be a multiple of 8: round the shape where the layout needs it.
        if (!L.a_k) s.m = (s.m + 7) / 8 * 8;
        if (!L.b_k) s.n = (s.n + 7) / 8 * 8;
        s.k = (L.a_k || L.b_k) ? (s.k + 7) / 8 * 8 : s.k;
        const int lda = (L.a_k ? s.k : s.m) + 8, ldb = (L.b_k ? s.k : s.n) + 8, ldc = s.n + 8;
        const size_t a_rows = L.a_k ? s.m : s.k, b_rows = L.b_k ? s.n : s.k;
        const int k2 = i % 3 == 1 ? (i % 2 == 1 ? 16 : 40) : 0;  // problems 1, 4, 7: a second product
        const int lda2 = (L.a_k ? k2 : s.m) + 16, ldb2 = (L.b_k ? k2 : s.n) + 16;
        const size_t a2_rows = L.a_k ? s.m : k2, b2_rows = L.b_k ? s.n : k2;
        a2_host.push_back(random_bf16_exact(a2_rows * lda2 + 1, seed + 100 + 2 * i));
        b2_host.push_back(random_bf16_exact(b2_rows * ldb2 + 1, seed + 101 + 2 * i));
        bufs.emplace_back(a2_host.back().size() * 2);
        bufs.emplace_back(b2_host.back().size() * 2);
        const auto a2_16 = to_bf16(a2_host.back()), b2_16 = to_bf16(b2_host.back());
        MOE_CUDA_CHECK(cudaMemcpy(bufs[bufs.size() - 2].as<void>(), a2_16.data(), a2_16.size() * 2, cudaMemcpyHostToDevice));
        MOE_CUDA_CHECK(cudaMemcpy(bufs.back().as<void>(), b2_16.data(), b2_16.size() * 2, cudaMemcpyHostToDevice));
        const void* a2 = bufs[bufs.size() - 2].as<void>();
        const void* b2 = bufs.back().as<void>();
        a_host.push_back(random_bf16_exact(a_rows * lda + 1, seed + 3 * i));
        b_host.push_back(random_bf16_exact(b_rows * ldb + 1, seed + 3 * i + 1));
        c_host.push_back(random_bf16_exact(size_t(s.m) * ldc + 1, seed + 3 * i + 2));
        bufs.emplace_back(a_host.back().size() * 2);
        bufs.emplace_back(b_host.back().size() * 2);
        bufs.emplace_back(c_host.back().size() * (L.c_bf16 ? 2 : 4));
        const auto a16 = to_bf16(a_host.back()), b16 = to_bf16(b_host.back());
        MOE_CUDA_CHECK(cudaMemcpy(bufs[bufs.size() - 3].as<void>(), a16.data(), a16.size() * 2, cudaMemcpyHostToDevice));
        MOE_CUDA_CHECK(cudaMemcpy(bufs[bufs.size() - 2].as<void>(), b16.data(), b16.size() * 2, cudaMemcpyHostToDevice));
        kernels::GroupedGemmProblem p{bufs[bufs.size() - 3].as<void>(), bufs[bufs.size() - 2].as<void>(),
                                      bufs.back().as<void>(), s.m, s.n, s.k, lda, ldb, ldc};
        if (k2 > 0) {
            p.a2 = a2;
            p.b2 = b2;
            p.k2 = k2;
            p.lda2 = lda2;
            p.ldb2 = ldb2;
        }
        ASSERT_TRUE(kernels::grouped_gemm_supported(p, L.a_k, L.b_k)) << "problem " << i;
        problems.push_back(p);
    }
    cuda::DeviceBuffer d_problems(problems.size() * sizeof(problems[0])), d_tiles((problems.size() + 1) * 4);
    MOE_CUDA_CHECK(cudaMemcpy(d_problems.as<void>(), problems.data(), d_problems.bytes(), cudaMemcpyHostToDevice));
    // Every variant with its default grid, and the persistent ones (8, 9) also with a grid of 2 or 3
    // blocks: each block then walks many tiles of several problems through one barrier ring.
    std::vector<std::pair<int, int>> runs;  // (variant, max_blocks)
    for (int variant = 0; variant < kernels::kGroupedGemmVariants; ++variant) runs.emplace_back(variant, 0);
    runs.emplace_back(kernels::kGroupedWgmmaWs, 2);
    runs.emplace_back(kernels::kGroupedWgmmaWsWide, 3);
    for (const auto& [variant, max_blocks] : runs) {
        SCOPED_TRACE("tile variant " + std::to_string(variant) + ", max_blocks " + std::to_string(max_blocks));
        std::vector<int32_t> tile_start{0};
        for (size_t i = 0; i < problems.size(); ++i) {  // C back to its initial values (beta reads it)
            const auto& p = problems[i];
            tile_start.push_back(tile_start.back() + kernels::grouped_gemm_tiles(p.m, p.n, variant));
            if (L.c_bf16) {
                const auto c16 = to_bf16(c_host[i]);
                MOE_CUDA_CHECK(cudaMemcpy(p.c, c16.data(), c16.size() * 2, cudaMemcpyHostToDevice));
            } else {
                MOE_CUDA_CHECK(cudaMemcpy(p.c, c_host[i].data(), c_host[i].size() * 4, cudaMemcpyHostToDevice));
            }
        }
        MOE_CUDA_CHECK(cudaMemcpy(d_tiles.as<void>(), tile_start.data(), d_tiles.bytes(), cudaMemcpyHostToDevice));
        kernels::GroupedGemmArgs args;
        args.problems = d_problems.as<kernels::GroupedGemmProblem>();
        args.tile_start = d_tiles.as<int32_t>();
        args.count = int32_t(problems.size());
        args.total_tiles = tile_start.back();
        args.a_k_contig = L.a_k;
        args.b_k_contig = L.b_k;
        args.c_bf16 = L.c_bf16;
        args.alpha = 0.75f;
        args.beta = L.beta;
        args.variant = variant;
        args.max_blocks = max_blocks;
        MOE_CUDA_CHECK(kernels::grouped_gemm_bf16(args, nullptr));
        MOE_CUDA_CHECK(cudaDeviceSynchronize());
        for (size_t i = 0; i < problems.size(); ++i) {
            const auto& p = problems[i];
            const std::vector<float>&A = a_host[i], &B = b_host[i], &C0 = c_host[i];
            std::vector<float> got, ref;
            std::vector<float> c_dev(C0.size());
            if (L.c_bf16) {
                std::vector<uint16_t> c16(C0.size());
                MOE_CUDA_CHECK(cudaMemcpy(c16.data(), p.c, c16.size() * 2, cudaMemcpyDeviceToHost));
                for (size_t x = 0; x < c16.size(); ++x) c_dev[x] = bf16_to_f32(c16[x]);
            } else {
                MOE_CUDA_CHECK(cudaMemcpy(c_dev.data(), p.c, c_dev.size() * 4, cudaMemcpyDeviceToHost));
            }
            for (int r = 0; r < p.m; ++r)
                for (int c = 0; c < p.ldc; ++c) {
                    const size_t at = size_t(r) * p.ldc + c;
                    if (c >= p.n) {  // outside the problem: untouched
                        ASSERT_EQ(c_dev[at], C0[at]) << "problem " << i << " wrote past column n at [" << r << ", " << c << "]";
                        continue;
                    }
                    double s = 0;
                    for (int k = 0; k < p.k; ++k) {
                        const double a = L.a_k ? A[size_t(r) * p.lda + k] : A[size_t(k) * p.lda + r];
                        const double b = L.b_k ? B[size_t(c) * p.ldb + k] : B[size_t(k) * p.ldb + c];
                        s += a * b;
                    }
                    const std::vector<float>&A2 = a2_host[i], &B2 = b2_host[i];
                    for (int k = 0; k < p.k2; ++k) {
                        const double a = L.a_k ? A2[size_t(r) * p.lda2 + k] : A2[size_t(k) * p.lda2 + r];
                        const double b = L.b_k ? B2[size_t(c) * p.ldb2 + k] : B2[size_t(k) * p.ldb2 + c];
                        s += a * b;
                    }
                    ref.push_back(float(0.75 * s + double(L.beta) * C0[at]));
                    got.push_back(c_dev[at]);
                }
            if (ref.empty()) continue;
            EXPECT_TRUE(close(got, ref, L.c_bf16 ? kNmseBf16 : 1e-9))
                << "problem " << i << " [" << p.m << " x " << p.n << " x " << p.k << "]";
        }
    }
}

// The SwiGLU epilogue (GroupedGemmArgs::swiglu): h = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ) per problem, against
// the float64 products of the same bf16 inputs; widths that fill part of a tile (136: one tile
// of 128 + 8), rows past a tile, none, one; a grid of 3 blocks walking the tiles too.
// Tolerance kNmseBf16: the output is rounded to bf16 once.
class CudaGroupedGemmSwiglu : public CudaTest {};

TEST_F(CudaGroupedGemmSwiglu, MatchesFloat64) {
    if (!kernels::grouped_gemm_swiglu_available()) GTEST_SKIP() << "the SwiGLU epilogue needs a wgmma GPU (sm_90)";
    struct Case {
        int m, inter, k;
    };
    const std::vector<Case> cases = {{0, 136, 64}, {1, 136, 64}, {300, 136, 264}, {129, 256, 72}, {37, 8, 200}};
    std::vector<kernels::GroupedGemmProblem> problems;
    std::vector<std::vector<float>> xs, ws;
    std::vector<cuda::DeviceBuffer> bufs;
    for (size_t i = 0; i < cases.size(); ++i) {
        const Case c = cases[i];
        const int ldx = c.k + 8, ldw = c.k + 16, ldh = c.inter + 8;
        xs.push_back(random_bf16_exact(size_t(c.m) * ldx + 1, seed + 2 * i));
        ws.push_back(random_bf16_exact(size_t(2 * c.inter) * ldw + 1, seed + 2 * i + 1));
        const auto x16 = to_bf16(xs.back()), w16 = to_bf16(ws.back());
        bufs.emplace_back(x16.size() * 2);
        MOE_CUDA_CHECK(cudaMemcpy(bufs.back().as<void>(), x16.data(), x16.size() * 2, cudaMemcpyHostToDevice));
        bufs.emplace_back(w16.size() * 2);
        MOE_CUDA_CHECK(cudaMemcpy(bufs.back().as<void>(), w16.data(), w16.size() * 2, cudaMemcpyHostToDevice));
        bufs.emplace_back(std::max<size_t>(1, size_t(c.m) * ldh) * 2);
        MOE_CUDA_CHECK(cudaMemset(bufs.back().as<void>(), 0xFF, bufs.back().bytes()));  // NaN: unwritten shows
        problems.push_back({bufs[bufs.size() - 3].as<void>(), bufs[bufs.size() - 2].as<void>(), bufs.back().as<void>(),
                            c.m, 2 * c.inter, c.k, ldx, ldw, ldh});
    }
    std::vector<int32_t> tile_start{0};
    for (const auto& p : problems)
        tile_start.push_back(tile_start.back() + kernels::grouped_gemm_tiles(p.m, p.n, kernels::kGroupedWgmmaWsWide));
    cuda::DeviceBuffer d_problems(problems.size() * sizeof(problems[0])), d_tiles(tile_start.size() * 4);
    MOE_CUDA_CHECK(cudaMemcpy(d_problems.as<void>(), problems.data(), d_problems.bytes(), cudaMemcpyHostToDevice));
    MOE_CUDA_CHECK(cudaMemcpy(d_tiles.as<void>(), tile_start.data(), d_tiles.bytes(), cudaMemcpyHostToDevice));
    for (int max_blocks : {0, 3}) {
        SCOPED_TRACE("max_blocks " + std::to_string(max_blocks));
        kernels::GroupedGemmArgs args;
        args.problems = d_problems.as<kernels::GroupedGemmProblem>();
        args.tile_start = d_tiles.as<int32_t>();
        args.count = int32_t(problems.size());
        args.total_tiles = tile_start.back();
        args.c_bf16 = true;
        args.alpha = 0.75f;
        args.variant = kernels::kGroupedWgmmaWsWide;
        args.max_blocks = max_blocks;
        args.swiglu = true;
        MOE_CUDA_CHECK(kernels::grouped_gemm_bf16(args, nullptr));
        MOE_CUDA_CHECK(cudaDeviceSynchronize());
        for (size_t i = 0; i < cases.size(); ++i) {
            const Case c = cases[i];
            const auto& p = problems[i];
            std::vector<uint16_t> h16(size_t(c.m) * p.ldc);
            if (!h16.empty()) MOE_CUDA_CHECK(cudaMemcpy(h16.data(), p.c, h16.size() * 2, cudaMemcpyDeviceToHost));
            std::vector<float> got, ref;
            for (int r = 0; r < c.m; ++r)
                for (int j = 0; j < c.inter; ++j) {
                    double g = 0, u = 0;
                    for (int k = 0; k < c.k; ++k) {
                        const double x = xs[i][size_t(r) * p.lda + k];
                        g += x * ws[i][size_t(j) * p.ldb + k];
                        u += x * ws[i][size_t(c.inter + j) * p.ldb + k];
                    }
                    g *= 0.75;
                    u *= 0.75;
                    ref.push_back(float(g / (1.0 + std::exp(-g)) * u));
                    got.push_back(bf16_to_f32(h16[size_t(r) * p.ldc + j]));
                }
            if (ref.empty()) continue;
            EXPECT_TRUE(close(got, ref, kNmseBf16)) << "problem " << i << " [" << c.m << " x " << c.inter << "]";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, CudaGroupedGemm,
                         ::testing::Values(Layout{true, true, false, 0.0f},    // forward, f32 out
                                           Layout{true, true, true, 0.0f},     // forward, bf16 out
                                           Layout{true, false, false, 0.0f},   // input gradient
                                           Layout{false, false, false, 1.0f},  // weight gradient, accumulated
                                           Layout{false, true, true, 1.0f}),   // the fourth combination
                         [](const ::testing::TestParamInfo<Layout>& i) {
                             return std::string(i.param.a_k ? "AK" : "AM") + (i.param.b_k ? "_BK" : "_BN") +
                                    (i.param.c_bf16 ? "_bf16" : "_f32") + (i.param.beta != 0.0f ? "_acc" : "");
                         });

}  // namespace
}  // namespace moe::test
