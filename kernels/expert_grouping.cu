// Device-side grouping of a MoE layer's slots by expert (expert_grouping.h). One warp per expert
// walks all N slots 32 at a time: a ballot of "this slot chose me" gives each matching slot its
// rank among the expert's earlier slots, so rows come out in slot order — the same stable order
// as the host's counting sort — without atomics, hence deterministically. Pass 1 counts, pass 2
// places (each warp sums the counts of the experts before it for its first row). E warps of
// N / 32 ballots each: ~384 iterations for a 2048-token moonlight layer.
#include "expert_grouping.h"

#include "common.cuh"

namespace moe::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void count_slots_kernel(const int32_t* __restrict__ ids, int64_t N, int64_t E, int32_t* __restrict__ counts) {
    const int64_t e = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = int(threadIdx.x % 32);
    if (e >= E) return;
    int32_t n = 0;
    for (int64_t s0 = 0; s0 < N; s0 += 32) {
        const int64_t s = s0 + lane;
        n += __popc(__ballot_sync(0xffffffffu, s < N && ids[s] == e));
    }
    if (lane == 0) counts[e] = n;
}

__global__ void place_slots_kernel(const int32_t* __restrict__ ids, int64_t N, int64_t K, int64_t E,
                                   const int32_t* __restrict__ counts, int32_t* __restrict__ offsets,
                                   int32_t* __restrict__ token_of, int32_t* __restrict__ slot_of_row,
                                   int32_t* __restrict__ row_of_slot) {
    const int64_t e = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = int(threadIdx.x % 32);
    if (e >= E) return;
    int32_t row = 0;  // the first row of expert e: the counts of experts 0 … e − 1
    for (int64_t j = lane; j < e; j += 32) row += counts[j];
    for (int o = 16; o > 0; o /= 2) row += __shfl_xor_sync(0xffffffffu, row, o);
    if (lane == 0) {
        offsets[e] = row;
        if (e == E - 1) offsets[E] = row + counts[e];
    }
    for (int64_t s0 = 0; s0 < N; s0 += 32) {
        const int64_t s = s0 + lane;
        const bool mine = s < N && ids[s] == e;
        const uint32_t ballot = __ballot_sync(0xffffffffu, mine);
        if (mine) {
            const int32_t r = row + __popc(ballot & ((1u << lane) - 1u));
            token_of[r] = int32_t(s / K);
            slot_of_row[r] = int32_t(s);
            row_of_slot[s] = r;
        }
        row += __popc(ballot);
    }
}

// Thread e builds expert e's problem and its tile count; a block-wide scan turns the counts into
// first tiles. E ≤ 1024 (one thread an expert).
__global__ void rows_problems_kernel(GroupedRowsGemm g, const int32_t* __restrict__ offsets, int E, int tile_m,
                                     int tile_n, GroupedGemmProblem* __restrict__ problems,
                                     int32_t* __restrict__ tile_start) {
    __shared__ int32_t scan[1024];
    const int e = int(threadIdx.x);
    int32_t tiles = 0;
    if (e < E) {
        const int32_t row0 = offsets[e], m = offsets[e + 1] - row0;
        GroupedGemmProblem p;
        p.a = static_cast<const unsigned char*>(g.a) + int64_t(row0) * g.a_row_bytes;
        p.b = static_cast<const unsigned char*>(g.b) + int64_t(e) * g.b_expert_bytes;
        p.c = static_cast<unsigned char*>(g.c) + int64_t(row0) * g.c_row_bytes;
        p.m = m;
        p.n = g.n;
        p.k = g.k;
        p.lda = g.lda;
        p.ldb = g.ldb;
        p.ldc = g.ldc;
        problems[e] = p;
        tiles = ((m + tile_m - 1) / tile_m) * ((g.n + tile_n - 1) / tile_n);
    }
    scan[e] = tiles;
    __syncthreads();
    for (int d = 1; d < int(blockDim.x); d *= 2) {  // inclusive Hillis–Steele scan
        const int32_t v = e >= d ? scan[e - d] : 0;
        __syncthreads();
        scan[e] += v;
        __syncthreads();
    }
    if (e < E) tile_start[e + 1] = scan[e];
    if (e == 0) tile_start[0] = 0;
}

}  // namespace

cudaError_t group_slots_by_expert(const int32_t* ids, int64_t N, int64_t K, int64_t E, int32_t* counts,
                                  int32_t* offsets, int32_t* token_of, int32_t* slot_of_row, int32_t* row_of_slot,
                                  cudaStream_t stream) {
    if (E <= 0 || K <= 0 || N < 0) return cudaErrorInvalidValue;
    const unsigned blocks = unsigned((E + kWarpsPerBlock - 1) / kWarpsPerBlock);
    count_slots_kernel<<<blocks, 32 * kWarpsPerBlock, 0, stream>>>(ids, N, E, counts);
    place_slots_kernel<<<blocks, 32 * kWarpsPerBlock, 0, stream>>>(ids, N, K, E, counts, offsets, token_of,
                                                                    slot_of_row, row_of_slot);
    return cudaGetLastError();
}

cudaError_t grouped_rows_problems(const GroupedRowsGemm& gemm, const int32_t* offsets, int64_t E, int tile_m,
                                  int tile_n, GroupedGemmProblem* problems, int32_t* tile_start, cudaStream_t stream) {
    if (E <= 0 || E > 1024 || tile_m <= 0 || tile_n <= 0) return cudaErrorInvalidValue;
    const int threads = int((E + 31) / 32 * 32);
    rows_problems_kernel<<<1, threads, 0, stream>>>(gemm, offsets, int(E), tile_m, tile_n, problems, tile_start);
    return cudaGetLastError();
}

}  // namespace moe::kernels
