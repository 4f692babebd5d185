#include "cuda/device_grouped_prefill.h"

#include <cstdlib>

#include "cuda/cuda_check.h"
#include "cuda/cuda_storage.h"
#include "cuda/expert_groups.h"
#include "expert_grouping.h"
#include "grouped_gemm.h"
#include "moe.h"

namespace moe::cuda {
namespace {

// The two grouped GEMMs' tables, built on the device: problems [2][E] then first tiles [2][E + 1].
struct Tables {
    kernels::GroupedGemmProblem* problems[2];
    int32_t* tile_start[2];
};

Tables carve_tables(const Scratch& s, int64_t E) {
    auto* problems = s.as<kernels::GroupedGemmProblem>();
    auto* starts = reinterpret_cast<int32_t*>(problems + 2 * E);
    return Tables{{problems, problems + E}, {starts, starts + E + 1}};
}

// One persistent grouped GEMM (variant 9) over the problems `table` holds; the tile count stays on the device.
void run_grouped(const kernels::GroupedRowsGemm& gemm, const int32_t* offsets, int64_t E, bool swiglu, bool c_bf16,
                 kernels::GroupedGemmProblem* problems, int32_t* tile_start, cudaStream_t s) {
    const kernels::GroupedGemmTile tile = kernels::grouped_gemm_tile(kernels::kGroupedWgmmaWsWide);
    MOE_CUDA_CHECK(kernels::grouped_rows_problems(gemm, offsets, E, tile.m, tile.n, problems, tile_start, s));
    kernels::GroupedGemmArgs args;
    args.problems = problems;
    args.tile_start = tile_start;
    args.count = int32_t(E);
    args.total_tiles = -1;
    args.c_bf16 = c_bf16;
    args.variant = kernels::kGroupedWgmmaWsWide;
    args.swiglu = swiglu;
    MOE_CUDA_CHECK(kernels::grouped_gemm_bf16(args, s));
}

}  // namespace

bool device_grouped_prefill_available(int64_t E, int64_t H, int64_t I) {
    static const bool enabled = [] {  // opt-in until it is measured faster (docs/performance.md, 22:27)
        const char* v = std::getenv("MOE_PREFILL_DEVICE_GROUPING");
        return v && v[0] == '1';
    }();
    const ExpertGemmMode mode = expert_gemm_mode();
    return enabled && (mode == ExpertGemmMode::kAuto || mode == ExpertGemmMode::kTiles) && E > 0 && E <= 1024 &&
           H % 8 == 0 && I % 8 == 0 && kernels::grouped_gemm_swiglu_available();
}

void device_grouped_prefill(DeviceContext& ctx, const Tensor& x, const RouterOutput& routing, const void* gate_up,
                            const void* down, int64_t E, int64_t I, Tensor& out, bool accumulate) {
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols(), N = T * K;
    cudaStream_t s = ctx.stream();
    // Row maps: counts (scratch), offsets [E + 1], token_of [N], slot_of_row [N], row_of_slot [N].
    const int64_t n_counts = kernels::grouping_counts_size(N, E);
    Scratch maps(ctx, size_t(n_counts + E + 1 + 3 * N) * sizeof(int32_t), "device-grouped MoE row maps");
    int32_t* counts = maps.as<int32_t>();
    int32_t* offsets = counts + n_counts;
    int32_t* token_of = offsets + E + 1;
    int32_t* slot_of_row = token_of + N;
    int32_t* row_of_slot = slot_of_row + N;
    MOE_CUDA_CHECK(kernels::group_slots_by_expert(i32(routing.expert_ids), N, K, E, counts, offsets, token_of,
                                                  slot_of_row, row_of_slot, s));
    Scratch table_bytes(ctx, size_t(2 * E) * sizeof(kernels::GroupedGemmProblem) + size_t(2 * (E + 1)) * 4,
                        "device-grouped MoE GEMM tables");
    const Tables t = carve_tables(table_bytes, E);
    Scratch xp(ctx, size_t(N * H) * 2, "grouped bf16 expert inputs");
    Scratch h(ctx, size_t(N * I) * 2, "grouped bf16 SwiGLU rows");
    const bool y16 = prefill_bf16_expert_outputs() && H % 4 == 0;
    Scratch y(ctx, size_t(N * H) * (y16 ? 2 : 4), "grouped expert outputs");
    MOE_CUDA_CHECK(kernels::gather_rows_bf16(f32(x), H, token_of, N, xp.as<uint16_t>(), s));
    const auto H32 = int32_t(H), I32 = int32_t(I);
    // h [rows, I] = silu(x Gᵀ) ⊙ (x Uᵀ): B is the expert's [2I, H] gate|up stack.
    run_grouped({xp.get(), H * 2, gate_up, 2 * I * H * 2, h.get(), I * 2, 2 * I32, H32, H32, H32, I32}, offsets, E,
                true, true, t.problems[0], t.tile_start[0], s);
    // y [rows, H] = h Dᵀ (bf16 or f32 rows; the combine sums K of them per token in f32).
    run_grouped({h.get(), I * 2, down, H * I * 2, y.get(), H * (y16 ? 2 : 4), H32, I32, I32, I32, H32}, offsets, E,
                false, y16, t.problems[1], t.tile_start[1], s);
    if (y16)
        MOE_CUDA_CHECK(kernels::moe_combine_bf16(y.as<uint16_t>(), row_of_slot, f32(routing.weights), T, K, H, f32(out),
                                                 s, accumulate));
    else
        MOE_CUDA_CHECK(kernels::moe_combine(y.as<float>(), row_of_slot, f32(routing.weights), T, K, H, f32(out), s,
                                            nullptr, accumulate));
}

}  // namespace moe::cuda
