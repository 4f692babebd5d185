// Device-side grouping of a MoE layer's slots by expert (expert_grouping.h). The slots are cut into
// chunks of kGroupingChunk; one warp per (expert, chunk) walks its chunk 32 slots at a time: a
// ballot of "this slot chose me" gives each matching slot its rank among the expert's earlier
// slots, so rows come out in slot order — the same stable order as the host's counting sort —
// without atomics, hence deterministically. Pass 1 counts per (expert, chunk), one block scans the
// counts into first rows, pass 2 places. (One warp per expert over all slots, the first form, was
// latency-bound: 384 dependent ballots, 113 + 78 µs a moonlight layer of 2048 tokens.)
#include "expert_grouping.h"

#include <algorithm>

#include "common.cuh"

namespace moe::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;

// Warp w counts the slots of chunk c = w % C that chose expert e = w / C: counts [E, C], expert-major.
__global__ void count_slots_kernel(const int32_t* __restrict__ ids, int64_t N, int64_t E, int64_t C,
                                   int32_t* __restrict__ counts) {
    const int64_t w = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = int(threadIdx.x % 32);
    if (w >= E * C) return;
    const int64_t e = w / C, s_end = min(N, (w % C + 1) * kGroupingChunk);
    int32_t n = 0;
    for (int64_t s0 = (w % C) * kGroupingChunk; s0 < s_end; s0 += 32) {
        const int64_t s = s0 + lane;
        n += __popc(__ballot_sync(0xffffffffu, s < s_end && ids[s] == e));
    }
    if (lane == 0) counts[w] = n;
}

// One block: counts [E·C] (expert-major) → their exclusive prefix sums in place (each (expert,
// chunk)'s first row, since an expert's rows follow all rows of the experts before it and, within
// it, the chunks come in slot order), and offsets [E + 1] (each expert's first row; offsets[E] = N).
__global__ void scan_counts_kernel(int32_t* __restrict__ counts, int64_t E, int64_t C, int32_t* __restrict__ offsets) {
    __shared__ int32_t part[1024];
    const int64_t n = E * C, per = (n + blockDim.x - 1) / blockDim.x, i0 = int64_t(threadIdx.x) * per;
    int32_t sum = 0;
    for (int64_t i = i0; i < min(n, i0 + per); ++i) sum += counts[i];
    part[threadIdx.x] = sum;
    __syncthreads();
    for (unsigned d = 1; d < blockDim.x; d *= 2) {  // inclusive Hillis–Steele scan of the thread sums
        const int32_t v = threadIdx.x >= d ? part[threadIdx.x - d] : 0;
        __syncthreads();
        part[threadIdx.x] += v;
        __syncthreads();
    }
    int32_t run = part[threadIdx.x] - sum;  // rows before this thread's first entry
    for (int64_t i = i0; i < min(n, i0 + per); ++i) {
        const int32_t c = counts[i];
        counts[i] = run;
        if (i % C == 0) offsets[i / C] = run;
        run += c;
    }
    if (threadIdx.x == blockDim.x - 1) offsets[E] = part[threadIdx.x];
}

// Warp (e, c) places chunk c's slots that chose expert e from that pair's first row on, in slot order.
__global__ void place_slots_kernel(const int32_t* __restrict__ ids, int64_t N, int64_t K, int64_t E, int64_t C,
                                   const int32_t* __restrict__ first_row, int32_t* __restrict__ token_of,
                                   int32_t* __restrict__ slot_of_row, int32_t* __restrict__ row_of_slot) {
    const int64_t w = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int lane = int(threadIdx.x % 32);
    if (w >= E * C) return;
    const int64_t e = w / C, s_end = min(N, (w % C + 1) * kGroupingChunk);
    int32_t row = first_row[w];
    for (int64_t s0 = (w % C) * kGroupingChunk; s0 < s_end; s0 += 32) {
        const int64_t s = s0 + lane;
        const bool mine = s < s_end && ids[s] == e;
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

int64_t grouping_counts_size(int64_t N, int64_t E) { return E * std::max<int64_t>(1, (N + kGroupingChunk - 1) / kGroupingChunk); }

cudaError_t group_slots_by_expert(const int32_t* ids, int64_t N, int64_t K, int64_t E, int32_t* counts,
                                  int32_t* offsets, int32_t* token_of, int32_t* slot_of_row, int32_t* row_of_slot,
                                  cudaStream_t stream) {
    if (E <= 0 || K <= 0 || N < 0) return cudaErrorInvalidValue;
    const int64_t C = grouping_counts_size(N, E) / E;
    const unsigned blocks = unsigned((E * C + kWarpsPerBlock - 1) / kWarpsPerBlock);
    count_slots_kernel<<<blocks, 32 * kWarpsPerBlock, 0, stream>>>(ids, N, E, C, counts);
    scan_counts_kernel<<<1, 1024, 0, stream>>>(counts, E, C, offsets);
    place_slots_kernel<<<blocks, 32 * kWarpsPerBlock, 0, stream>>>(ids, N, K, E, C, counts, token_of, slot_of_row,
                                                                    row_of_slot);
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
