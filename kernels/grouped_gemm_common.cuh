// Device helpers of the two grouped-GEMM kernels (grouped_gemm.cu: mma.sync tiles for any sm_80+
// GPU; grouped_gemm_wgmma.cu: wgmma tiles for sm_90a): the search for a block's problem and the
// masked output store (the copies and mma.sync helpers: mma_sync.cuh).
#pragma once

#include <type_traits>

#include "common.cuh"
#include "grouped_gemm.h"
#include "mma_sync.cuh"

namespace moe::kernels {
namespace {

__device__ __forceinline__ int find_problem(const int32_t* tile_start, int count, int tile) {
    int lo = 0, hi = count - 1;  // the last problem whose first tile is <= tile
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (tile_start[mid] <= tile) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

// C[row, col] (and C[row, col + 1] when inside the problem) = v (+ beta · C).
__device__ __forceinline__ void store_pair(const GroupedGemmArgs& args, const GroupedGemmProblem& p, int row, int col,
                                           float v0, float v1) {
    const bool two = col + 1 < p.n;
    if (args.c_bf16) {
        uint16_t* c = static_cast<uint16_t*>(p.c) + int64_t(row) * p.ldc + col;
        if (args.beta != 0.0f) {
            v0 += args.beta * bf16_bits_to_f32(c[0]);
            if (two) v1 += args.beta * bf16_bits_to_f32(c[1]);
        }
        c[0] = f32_to_bf16_bits(v0);
        if (two) c[1] = f32_to_bf16_bits(v1);
    } else {
        float* c = static_cast<float*>(p.c) + int64_t(row) * p.ldc + col;
        if (args.beta != 0.0f) {
            v0 += args.beta * c[0];
            if (two) v1 += args.beta * c[1];
        }
        if (two) *reinterpret_cast<float2*>(c) = make_float2(v0, v1);
        else c[0] = v0;
    }
}

// f(A_K, B_K) with the args' two layout flags as std::bool_constant: the one place that maps them to
// a kernel instance, e.g. f = [&](auto a, auto b) { return launch<Tile, a, b>(args, stream); }.
template <class F>
cudaError_t with_layout(const GroupedGemmArgs& args, F&& f) {
    if (args.a_k_contig && args.b_k_contig) return f(std::true_type{}, std::true_type{});
    if (args.a_k_contig) return f(std::true_type{}, std::false_type{});
    if (args.b_k_contig) return f(std::false_type{}, std::true_type{});
    return f(std::false_type{}, std::false_type{});
}

}  // namespace
}  // namespace moe::kernels
