// The (token, expert) slots of one MoE layer grouped by expert ON THE DEVICE, and the grouped
// GEMM's problem table built from them there: the prefill MoE layer then runs without the host
// ever seeing the router's expert ids (no stream sync per layer; engine/cuda/device_grouped_prefill.cpp).
// Same grouping as the host's (engine/cuda/expert_groups.h, exact rows, no padding): expert e's
// rows are the slots routed to it in slot order (token t's k-th choice is slot t·K + k), experts
// in ascending order.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grouped_gemm.h"

namespace moe::kernels {

inline constexpr int64_t kGroupingChunk = 512;  // slots a warp walks (expert_grouping.cu)
// Ints of group_slots_by_expert's `counts` scratch: E × ceil(N / kGroupingChunk) (at least E).
int64_t grouping_counts_size(int64_t N, int64_t E);

// ids [N] (N = T·K slots, each in [0, E): the router's own output — an id outside gets no row).
// Writes offsets [E + 1] (expert e's rows are offsets[e] … offsets[e + 1] − 1; offsets[E] = N),
// token_of [N] and slot_of_row [N] (per row) and row_of_slot [N] (per slot); counts
// [grouping_counts_size] is scratch. Three launches.
cudaError_t group_slots_by_expert(const int32_t* ids, int64_t N, int64_t K, int64_t E, int32_t* counts,
                                  int32_t* offsets, int32_t* token_of, int32_t* slot_of_row, int32_t* row_of_slot,
                                  cudaStream_t stream);

// One grouped GEMM of a MoE layer over the grouped rows, expert e's problem being
//   A = a + offsets[e] · a_row_bytes (its rows, K-contiguous, lda), m = its row count,
//   B = b + e · b_expert_bytes (its weight matrix, K-contiguous, ldb), n × k,
//   C = c + offsets[e] · c_row_bytes (ldc),
// which is GroupedGemmProblem's forward layout (a_k_contig, b_k_contig).
struct GroupedRowsGemm {
    const void* a = nullptr;
    int64_t a_row_bytes = 0;
    const void* b = nullptr;
    int64_t b_expert_bytes = 0;
    void* c = nullptr;
    int64_t c_row_bytes = 0;
    int32_t n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
};

// problems [E] and tile_start [E + 1] for `gemm` over `offsets` [E + 1] with block tiles of
// tile_m × tile_n (grouped_gemm_tile of the variant that will run them). One block.
cudaError_t grouped_rows_problems(const GroupedRowsGemm& gemm, const int32_t* offsets, int64_t E, int tile_m,
                                  int tile_n, GroupedGemmProblem* problems, int32_t* tile_start, cudaStream_t stream);

}  // namespace moe::kernels
