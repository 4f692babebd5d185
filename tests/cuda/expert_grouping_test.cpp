// The device-side grouping of a MoE layer's slots (kernels/expert_grouping.h) against the host's
// exact-row grouping (engine/cuda/expert_groups.h, MOE_EXPERT_GEMM=tiles): the same offsets and the
// same row maps, element for element (both are stable counting sorts, so nothing may differ), for
// even, skewed and one-hot routing, idle experts and a single token; and the grouped GEMM problem
// table built from the device offsets, problem by problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cuda/cuda_check.h"
#include "cuda/device_buffer.h"
#include "cuda/expert_groups.h"
#include "cuda_test_util.h"
#include "expert_grouping.h"

namespace moe::test {
namespace {

class CudaExpertGrouping : public CudaTest {};

std::vector<int32_t> routed_ids(int64_t T, int64_t K, int64_t E, int kind, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int32_t> ids(size_t(T * K));
    for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k) {
            int64_t e = 0;
            if (kind == 0) e = int64_t(rng() % uint64_t(E));                   // even
            else if (kind == 1) e = int64_t(rng() % uint64_t(1 + rng() % uint64_t(E)));  // skewed to low ids
            else e = (k * 7) % (E / 2);                                          // the same experts for every token
            ids[size_t(t * K + k)] = int32_t(e);
        }
    return ids;
}

std::vector<int32_t> download(const cuda::DeviceBuffer& b, size_t n, size_t at = 0) {
    std::vector<int32_t> v(n);
    if (n) MOE_CUDA_CHECK(cudaMemcpy(v.data(), b.as<int32_t>() + at, n * 4, cudaMemcpyDeviceToHost));
    return v;
}

TEST_F(CudaExpertGrouping, MapsEqualTheHostGrouping) {
    struct Case {
        int64_t T, K, E;
        int kind;
    };
    for (const Case c : {Case{2048, 6, 64, 0}, Case{300, 8, 256, 1}, Case{37, 4, 16, 2}, Case{1, 6, 64, 0},
                         Case{40, 2, 8, 1}}) {
        SCOPED_TRACE("T " + std::to_string(c.T) + " K " + std::to_string(c.K) + " E " + std::to_string(c.E) +
                     " kind " + std::to_string(c.kind));
        const int64_t N = c.T * c.K, E = c.E;
        const std::vector<int32_t> ids = routed_ids(c.T, c.K, E, c.kind, seed + uint64_t(N));
        const cuda::ExpertGroups host = cuda::group_by_expert(ids, c.T, c.K, E, 64, 64, cuda::ExpertGemmMode::kTiles);
        ASSERT_EQ(host.P, N);
        const int64_t n_counts = kernels::grouping_counts_size(N, E);
        cuda::DeviceBuffer d_ids(std::max<size_t>(1, size_t(N)) * 4), maps(size_t(n_counts + E + 1 + 3 * N) * 4);
        MOE_CUDA_CHECK(cudaMemcpy(d_ids.as<void>(), ids.data(), size_t(N) * 4, cudaMemcpyHostToDevice));
        int32_t* counts = maps.as<int32_t>();
        int32_t* offsets = counts + n_counts;
        MOE_CUDA_CHECK(kernels::group_slots_by_expert(d_ids.as<int32_t>(), N, c.K, E, counts, offsets, offsets + E + 1,
                                                      offsets + E + 1 + N, offsets + E + 1 + 2 * N, nullptr));
        MOE_CUDA_CHECK(cudaDeviceSynchronize());
        const std::vector<int32_t> got_offsets = download(maps, size_t(E + 1), size_t(n_counts));
        for (int64_t e = 0; e < E; ++e) {  // the host leaves an idle expert's offset at 0: compare the counts there
            EXPECT_EQ(got_offsets[size_t(e + 1)] - got_offsets[size_t(e)], host.count[size_t(e)]) << "expert " << e;
            if (host.count[size_t(e)] > 0) {
                EXPECT_EQ(got_offsets[size_t(e)], host.offset[size_t(e)]) << "expert " << e;
            }
        }
        EXPECT_EQ(got_offsets[size_t(E)], N);
        const size_t base = size_t(n_counts + E + 1);
        EXPECT_EQ(download(maps, size_t(N), base), host.token_of);
        EXPECT_EQ(download(maps, size_t(N), base + size_t(N)), host.slot_of_row);
        EXPECT_EQ(download(maps, size_t(N), base + 2 * size_t(N)), host.row_of_slot);

        // The problem table of a forward GEMM over those rows: expert e's rows, its weights, its outputs.
        kernels::GroupedRowsGemm g{reinterpret_cast<const void*>(0x100000), 512, reinterpret_cast<const void*>(0x200000),
                                   1 << 20, reinterpret_cast<void*>(0x400000), 1024, 300, 256, 256, 256, 512};
        cuda::DeviceBuffer problems(size_t(E) * sizeof(kernels::GroupedGemmProblem)), starts(size_t(E + 1) * 4);
        MOE_CUDA_CHECK(kernels::grouped_rows_problems(g, offsets, E, 128, 256, problems.as<kernels::GroupedGemmProblem>(),
                                                      starts.as<int32_t>(), nullptr));
        MOE_CUDA_CHECK(cudaDeviceSynchronize());
        std::vector<kernels::GroupedGemmProblem> p(static_cast<size_t>(E));
        MOE_CUDA_CHECK(cudaMemcpy(p.data(), problems.as<void>(), problems.bytes(), cudaMemcpyDeviceToHost));
        const std::vector<int32_t> tile_start = download(starts, size_t(E + 1));
        int32_t tiles = 0;
        for (int64_t e = 0; e < E; ++e) {
            const int64_t row0 = got_offsets[size_t(e)], m = host.count[size_t(e)];
            EXPECT_EQ(p[size_t(e)].a, reinterpret_cast<const unsigned char*>(g.a) + row0 * g.a_row_bytes) << "expert " << e;
            EXPECT_EQ(p[size_t(e)].b, reinterpret_cast<const unsigned char*>(g.b) + e * g.b_expert_bytes) << "expert " << e;
            EXPECT_EQ(p[size_t(e)].c, reinterpret_cast<unsigned char*>(g.c) + row0 * g.c_row_bytes) << "expert " << e;
            EXPECT_EQ(p[size_t(e)].m, m);
            EXPECT_EQ(p[size_t(e)].n, g.n);
            EXPECT_EQ(p[size_t(e)].k, g.k);
            EXPECT_EQ(p[size_t(e)].k2, 0);
            EXPECT_EQ(tile_start[size_t(e)], tiles) << "expert " << e;
            tiles += kernels::grouped_gemm_tiles(int32_t(m), g.n, kernels::kGroupedWgmmaWsWide);
        }
        EXPECT_EQ(tile_start[size_t(E)], tiles);
    }
}

}  // namespace
}  // namespace moe::test
