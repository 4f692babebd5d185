// The grouped bf16 GEMM of grouped_gemm.h: one output tile per block (the variant's BM × BN; variant
// 0: 128×128 by 8 warps, 2 along M × 4 along N, 64×32 each), K in steps of BK through a multi-stage
// cp.async pipeline,
// mma.sync m16n8k16 (bf16 in, f32 accumulate) fed by ldmatrix — its .trans form reads the operands
// that are not K-contiguous, so one kernel serves the forward, input-gradient and weight-gradient
// layouts (template flags). Rows past M, N or K are zero-filled by the copies (src size 0) and
// masked on the store. A problem's second product (a2 · b2) continues the k-tiles of the first.
// The block's tile is found by a binary search of the problems' first tiles.
#include <atomic>

#include "grouped_gemm.h"
#include "grouped_gemm_common.cuh"
#include "grouped_gemm_wgmma.h"

namespace moe::kernels {
namespace {

// A tile configuration: block tile BM × BN × BK, WM × WN warps (each a (BM/WM) × (BN/WN) warp tile
// of m16n8 fragments), STAGES in the cp.async ring. Shared rows are padded by 8 elements (16 bytes):
// the 8 row addresses of an ldmatrix then fall in 8 distinct groups of 4 banks for every layout.
template <int BM_, int BN_, int BK_, int WM_, int WN_, int STAGES_>
struct Tile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_, WM = WM_, WN = WN_, kStages = STAGES_;
    static constexpr int kThreads = 32 * WM * WN, TM = BM / WM, TN = BN / WN, MI = TM / 16, NI = TN / 8;
    static_assert(TM % 16 == 0 && TN % 16 == 0 && BK % 16 == 0, "warp tile of whole m16n8k16 pairs");
    // One operand's stage: [rows][BK + 8] (K-contiguous) or [BK][rows + 8].
    static constexpr int operand_elems(int rows) { return rows * (BK + 8) > BK * (rows + 8) ? rows * (BK + 8) : BK * (rows + 8); }
    static constexpr int kAElems = operand_elems(BM), kStageElems = kAElems + operand_elems(BN);
    static constexpr size_t kSmemBytes = size_t(kStages) * kStageElems * 2;
};

// One operand's ROWS × BK (K-contiguous) or BK × ROWS (MN-contiguous) stage tile from global rows:
// `ROWS` along M or N starting at r0 (bounded by R), K from k0 (bounded by K), 16 bytes per copy.
template <class C, int ROWS, bool K_CONTIG>
__device__ __forceinline__ void load_tile(uint16_t* s, const uint16_t* g, int ld, int r0, int R, int k0, int K) {
    constexpr int kChunks = ROWS * C::BK / 8;
    static_assert(kChunks % C::kThreads == 0, "every thread copies the same number of chunks");
#pragma unroll
    for (int i = 0; i < kChunks / C::kThreads; ++i) {
        const int c = threadIdx.x + i * C::kThreads;
        if constexpr (K_CONTIG) {
            const int row = c / (C::BK / 8), kc = (c % (C::BK / 8)) * 8;
            const bool ok = r0 + row < R && k0 + kc < K;
            cp_async16(s + row * (C::BK + 8) + kc, ok ? g + int64_t(r0 + row) * ld + k0 + kc : g, ok);
        } else {
            const int row = c / (ROWS / 8), rc = (c % (ROWS / 8)) * 8;
            const bool ok = k0 + row < K && r0 + rc < R;
            cp_async16(s + row * (ROWS + 8) + rc, ok ? g + int64_t(k0 + row) * ld + r0 + rc : g, ok);
        }
    }
}

template <class C, bool A_K, bool B_K>
__global__ void __launch_bounds__(C::kThreads) grouped_gemm_kernel(GroupedGemmArgs args) {
    extern __shared__ __align__(16) uint16_t smem[];
    constexpr int BM = C::BM, BN = C::BN, BK = C::BK, MI = C::MI, NI = C::NI, kStages = C::kStages;
    constexpr int ldk = BK + 8, lda_mn = BM + 8, ldb_mn = BN + 8;
    const int g = find_problem(args.tile_start, args.count, int(blockIdx.x));
    const GroupedGemmProblem p = args.problems[g];
    const int local = int(blockIdx.x) - args.tile_start[g];
    const int tiles_n = (p.n + BN - 1) / BN;
    const int m0 = (local / tiles_n) * BM, n0 = (local % tiles_n) * BN;
    const auto* A = static_cast<const uint16_t*>(p.a);
    const auto* B = static_cast<const uint16_t*>(p.b);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = (warp % C::WM) * C::TM, wn = (warp / C::WM) * C::TN;

    float acc[MI][NI][4] = {};
    const int k_tiles1 = (p.k + BK - 1) / BK;  // then the second product's k-tiles
    const int k_tiles = k_tiles1 + (p.k2 + BK - 1) / BK;
    auto load_stage = [&](int stage, int kt) {
        uint16_t* sa = smem + stage * C::kStageElems;
        if (kt < k_tiles1) {
            load_tile<C, BM, A_K>(sa, A, p.lda, m0, p.m, kt * BK, p.k);
            load_tile<C, BN, B_K>(sa + C::kAElems, B, p.ldb, n0, p.n, kt * BK, p.k);
        } else {
            const int k0 = (kt - k_tiles1) * BK;
            load_tile<C, BM, A_K>(sa, static_cast<const uint16_t*>(p.a2), p.lda2, m0, p.m, k0, p.k2);
            load_tile<C, BN, B_K>(sa + C::kAElems, static_cast<const uint16_t*>(p.b2), p.ldb2, n0, p.n, k0, p.k2);
        }
    };
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
        if (s < k_tiles) load_stage(s, s);
        cp_async_commit();
    }
    const int r = lane % 8, j = lane / 8;
    for (int kt = 0; kt < k_tiles; ++kt) {
        cp_async_wait<kStages - 2>();
        __syncthreads();  // tile kt landed for every thread; every warp is done with tile kt - 1
        if (kt + kStages - 1 < k_tiles) load_stage((kt + kStages - 1) % kStages, kt + kStages - 1);
        cp_async_commit();
        const uint16_t* sa = smem + (kt % kStages) * C::kStageElems;
        const uint16_t* sb = sa + C::kAElems;
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            uint32_t af[MI][4], bf[NI][2];
#pragma unroll
            for (int mi = 0; mi < MI; ++mi) {
                const int m = wm + mi * 16 + (j % 2) * 8, k = kk + (j / 2) * 8;
                if constexpr (A_K) ldmatrix_x4<false>(af[mi], sa + (m + r) * ldk + k);
                else ldmatrix_x4<true>(af[mi], sa + (k + r) * lda_mn + m);
            }
#pragma unroll
            for (int np = 0; np < NI / 2; ++np) {
                const int n = wn + np * 16 + (j / 2) * 8, k = kk + (j % 2) * 8;
                uint32_t q[4];
                if constexpr (B_K) ldmatrix_x4<false>(q, sb + (n + r) * ldk + k);
                else ldmatrix_x4<true>(q, sb + (k + r) * ldb_mn + n);
                bf[2 * np][0] = q[0];
                bf[2 * np][1] = q[1];
                bf[2 * np + 1][0] = q[2];
                bf[2 * np + 1][1] = q[3];
            }
#pragma unroll
            for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int ni = 0; ni < NI; ++ni) mma_bf16(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
        }
    }
    cp_async_wait<0>();

    // c0, c1: row lane/4, columns 2·(lane%4) + {0, 1}; c2, c3: the same 8 rows below.
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int row = m0 + wm + mi * 16 + lane / 4 + half * 8;
            if (row >= p.m) continue;
#pragma unroll
            for (int ni = 0; ni < NI; ++ni) {
                const int col = n0 + wn + ni * 8 + 2 * (lane % 4);
                if (col >= p.n) continue;
                store_pair(args, p, row, col, args.alpha * acc[mi][ni][2 * half], args.alpha * acc[mi][ni][2 * half + 1]);
            }
        }
}

// The tile variants (grouped_gemm.h): 0 the default, 1–3 other shapes of the wide tile, 4 for
// narrow outputs (N a LoRA rank), 5 for short ones (M a LoRA rank: the factor A's gradient).
// Which is fastest where: tools/gpu/probes/grouped_gemm_probe.cu.
using Tile0 = Tile<128, 128, 32, 2, 4, 3>;
using Tile1 = Tile<128, 128, 64, 2, 4, 3>;
using Tile2 = Tile<128, 256, 32, 2, 4, 3>;
using Tile3 = Tile<128, 128, 32, 2, 2, 4>;
using Tile4 = Tile<128, 32, 32, 4, 1, 4>;
using Tile5 = Tile<32, 128, 32, 1, 4, 4>;

// f(TileN{}) for variant N in [0, kGroupedGemmVariants): the one place that maps a number to a tile.
template <class F>
auto with_tile(int variant, F&& f) {
    switch (variant) {
        case 1: return f(Tile1{});
        case 2: return f(Tile2{});
        case 3: return f(Tile3{});
        case 4: return f(Tile4{});
        case 5: return f(Tile5{});
        default: return f(Tile0{});
    }
}

template <class C, bool A_K, bool B_K>
cudaError_t launch(const GroupedGemmArgs& args, cudaStream_t stream) {
    static const cudaError_t attr = cudaFuncSetAttribute(
        grouped_gemm_kernel<C, A_K, B_K>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(C::kSmemBytes));
    if (attr != cudaSuccess) return attr;
    grouped_gemm_kernel<C, A_K, B_K><<<args.total_tiles, C::kThreads, C::kSmemBytes, stream>>>(args);
    return cudaGetLastError();
}

template <class C>
cudaError_t launch_layout(const GroupedGemmArgs& args, cudaStream_t stream) {
    return with_layout(args, [&](auto a_k, auto b_k) { return launch<C, a_k, b_k>(args, stream); });
}

// Whether the current device runs the sm_90a wgmma body (compute capability 9.0: H100, H200).
// Asked once per device (a launch path: hundreds of grouped GEMMs a training step).
bool device_has_wgmma() {
    constexpr int kDevices = 64;
    static std::atomic<int8_t> known[kDevices] = {};  // 0 not asked yet, 1 yes, -1 no
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return false;
    if (device >= 0 && device < kDevices && known[device].load(std::memory_order_relaxed) != 0)
        return known[device].load(std::memory_order_relaxed) > 0;
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) return false;
    const bool yes = major == 9 && minor == 0;
    if (device >= 0 && device < kDevices) known[device].store(yes ? 1 : -1, std::memory_order_relaxed);
    return yes;
}

}  // namespace

bool grouped_gemm_supported(const GroupedGemmProblem& p, bool a_k_contig, bool b_k_contig) {
    if (p.m < 0 || p.n < 0 || p.k < 0) return false;
    // The contiguous extent of each operand must come in whole 16-byte chunks.
    const int a_contig = a_k_contig ? p.k : p.m, b_contig = b_k_contig ? p.k : p.n;
    const bool first = a_contig % 8 == 0 && b_contig % 8 == 0 && p.lda % 8 == 0 && p.ldb % 8 == 0 &&
                       p.ldc % 8 == 0 && aligned16(p.a) && aligned16(p.b) && aligned16(p.c);
    if (!first || p.k2 < 0) return false;
    if (p.k2 == 0) return true;
    const int a2_contig = a_k_contig ? p.k2 : p.m, b2_contig = b_k_contig ? p.k2 : p.n;
    return a2_contig % 8 == 0 && b2_contig % 8 == 0 && p.lda2 % 8 == 0 && p.ldb2 % 8 == 0 && aligned16(p.a2) &&
           aligned16(p.b2);
}

bool grouped_gemm_swiglu_available() { return device_has_wgmma(); }

bool grouped_gemm_tma_ready(const GroupedGemmArgs& args) {
    return device_has_wgmma() && grouped_gemm_wgmma_ws_tma_ready(args);
}

GroupedGemmTile grouped_gemm_tile(int variant) {
    if (grouped_gemm_is_wgmma(variant))  // the shapes of 0 and 2 (grouped_gemm_wgmma.cu, grouped_gemm_wgmma_ws.cu)
        return grouped_gemm_tile(grouped_gemm_is_wide(variant) ? 2 : 0);
    return with_tile(variant, [](auto tile) { return GroupedGemmTile{decltype(tile)::BM, decltype(tile)::BN}; });
}

cudaError_t grouped_gemm_bf16(const GroupedGemmArgs& args, cudaStream_t stream) {
    if (args.total_tiles == 0) return cudaSuccess;
    if (args.variant < 0 || args.variant >= kGroupedGemmVariants) return cudaErrorInvalidValue;
    if (args.total_tiles < 0 && (!device_has_wgmma() || (args.variant != kGroupedWgmmaWs && args.variant != kGroupedWgmmaWsWide)))
        return cudaErrorInvalidValue;
    if (args.swiglu && (args.variant != kGroupedWgmmaWsWide || !device_has_wgmma() || !args.a_k_contig ||
                        !args.b_k_contig || args.beta != 0.0f || !args.c_bf16))
        return cudaErrorInvalidValue;
    if (grouped_gemm_is_wgmma(args.variant)) {
        static_assert(Tile0::BM == 128 && Tile0::BN == 128 && Tile2::BM == 128 && Tile2::BN == 256,
                      "variants 0 and 2 stand in for the wgmma tiles");
        if (device_has_wgmma()) return grouped_gemm_wgmma_bf16(args, stream);
        return grouped_gemm_is_wide(args.variant) ? launch_layout<Tile2>(args, stream) : launch_layout<Tile0>(args, stream);
    }
    return with_tile(args.variant, [&](auto tile) { return launch_layout<decltype(tile)>(args, stream); });
}

}  // namespace moe::kernels
