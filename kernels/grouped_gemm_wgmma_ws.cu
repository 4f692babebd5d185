// The grouped bf16 GEMM of grouped_gemm.h on wgmma (sm_90a) with a copying warpgroup and persistent
// blocks: variants kGroupedWgmmaWs (128 × 128 tiles) and kGroupedWgmmaWsWide (128 × 256).
//
// Why another body than grouped_gemm_wgmma.cu: there every thread both copies and multiplies, a
// block barrier per k-tile lines them all up, and a block computes one tile — its pipeline fills at
// the start and its output is written while the tensor cores idle (a 128 × 256 f32 tile is 128 KB,
// about a fifth of a down projection's K loop). Here, in one block of three warpgroups per SM:
//   warpgroup 0 (the producer) copies k-tiles global → shared with 16-byte cp.async into a ring of
//     kStages stages (the same swizzled layout: grouped_gemm_wgmma.cuh), each stage's completion
//     signalled on its `full` mbarrier by the copies themselves (cp.async.mbarrier.arrive.noinc);
//   warpgroups 1 and 2 (the consumers) each own 64 rows × BN columns, wait on `full`, multiply with
//     wgmma, and release a stage on its `empty` mbarrier once the wgmma group that read it retired.
// Nobody waits for anyone but the data: the producer runs up to kStages k-tiles ahead, across tile
// boundaries too, so the next tile's operands arrive while the consumers store the last one. Blocks
// are persistent: block b takes tiles b, b + gridDim, ... (one block per SM; GroupedGemmArgs::
// max_blocks caps the grid, which the tests use to make one block walk many tiles).
// Registers: 384 threads at one block per SM get 168 each, which the consumers' 128 accumulators of
// the wide tile fit without spilling; moving the producer's share to them (setmaxnreg, producer at
// 40) made the producer's unrolled copies spill, and the consumers need no more.
// SWIGLU (GroupedGemmArgs::swiglu, the wide tile): a tile's B is 128 gate rows and the same 128 up
// rows, so each consumer thread holds a gate value and its up value side by side in registers and
// stores bf16 silu(g) · u — the MoE prefill's gate/up products never reach memory.
// A consumer whose 64 rows lie past its problem's rows multiplies nothing (it still waits and
// releases every stage, so the barriers' counts stay whole).
// TMA (GroupedGemmArgs::a_tensor ..: the caller names the tensors every problem's operands lie in,
// A K-contiguous): one producer thread copies each stage with the tensor memory accelerator — one
// box of A, one to four of B — into the same swizzled layout (CU_TENSOR_MAP_SWIZZLE_128B is the
// layout `swizzled` computes), and the copies complete the stage's `full` barrier by their bytes.
// The cp.async producer spends 24 copy instructions a thread per stage of the wide tile and their
// address arithmetic; the probe put these GEMMs near 300–350 TFLOP/s, where cuBLAS's TMA kernels
// ran the same shapes, padded, at 550–614 (docs/performance.md).
#include <cuda.h>  // CUtensorMap and its encoder's signature (reached through the runtime: no -lcuda)
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "grouped_gemm_wgmma.cuh"
#include "grouped_gemm_wgmma.h"

namespace moe::kernels {
namespace {

constexpr int kProducerThreads = 128, kConsumerThreads = 256, kWsThreads = kProducerThreads + kConsumerThreads;

// 4 stages of the wide tile (48 KB each), 6 of the narrow one (32 KB): 192 KB of ring either way.
using WsTile128 = WideTile<128, 6>;
using WsTile256 = WideTile<256, 4>;
template <class W>
constexpr size_t ws_smem_bytes() { return W::kSmemBytes + 2 * W::kStages * sizeof(uint64_t); }  // + the barriers
static_assert(ws_smem_bytes<WsTile128>() <= 227 * 1024 && ws_smem_bytes<WsTile256>() <= 227 * 1024, "ring fits");

__device__ __forceinline__ uint32_t shared_addr(const void* p) { return uint32_t(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_addr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_addr(bar)) : "memory");
}
// Waits until the phase of parity `parity` has completed (a fresh barrier counts parity 1 as done).
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
    const uint32_t addr = shared_addr(bar);
    uint32_t done = 0;
    do {
        asm volatile(
            "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
            : "=r"(done)
            : "r"(addr), "r"(parity)
            : "memory");
    } while (!done);
}
// One arrival on `bar` once every cp.async this thread issued so far has landed.
__device__ __forceinline__ void cp_async_arrive(uint64_t* bar) {
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(shared_addr(bar)) : "memory");
}

// One arrival on `bar` that also expects `bytes` from the tensor copies completing on it.
__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_addr(bar)), "r"(bytes)
                 : "memory");
}
// The box of `map` at (column x, row y) into shared memory at `dst` (1024-byte aligned: the 128-byte
// swizzle's phase), its bytes counted on `bar`. Elements past the tensor's extent arrive as zeros.
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, int x, int y, uint64_t* bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
            shared_addr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(shared_addr(bar))
        : "memory");
}

// The tensor maps of a TMA launch (GroupedGemmArgs::a_tensor ..): A and B boxes of 64 k × kBM rows
// and 64 k × the tile's B rows (128 for the SwiGLU tile's gate and up halves), the 128-byte swizzle
// of the stage layout.
struct TmaMaps {
    CUtensorMap a, b, a2, b2;
};

// The first row of the tensor `t` that `p` points at (GroupedOperandTensor: the host checked that it
// lies inside, rows apart from `base`).
__device__ __forceinline__ int tensor_row(const void* p, const GroupedOperandTensor& t) {
    return int((static_cast<const unsigned char*>(p) - static_cast<const unsigned char*>(t.base)) / (int64_t(t.ld) * 2));
}

// A position in the ring: the stage and the parity of its current use.
struct RingSlot {
    int stage = 0;
    uint32_t phase = 0;
    template <int STAGES>
    __device__ __forceinline__ void advance() {
        if (++stage == STAGES) {
            stage = 0;
            phase ^= 1;
        }
    }
};

// One operand's ROWS × 64 stage tile (load_operand's layout and bounds) copied by the producer's
// 128 threads with few registers: a thread's chunks share their 16-byte column (and so their
// swizzle), and one source pointer walks its rows. (load_operand's fully unrolled copies held
// every chunk's address at once: 168 registers for the wide tile's producer, spilling.)
template <int ROWS, bool K_CONTIG>
__device__ __forceinline__ void produce_operand(unsigned char* s, const uint16_t* g, int ld, int r0, int R, int k0,
                                                int K, int tid) {
    constexpr int kPasses = ROWS * kBK / 8 / kProducerThreads;  // 16 rows (K-major) or k rows (MN-major) a pass
    const int c = tid % 8, first = tid / 8;                       // this thread's chunk column, first row
    if constexpr (K_CONTIG) {  // rows first + 16 i of the M/N extent, k chunk c
        const bool k_ok = k0 + c * 8 < K;
        const uint16_t* src = g + int64_t(r0 + first) * ld + k0 + c * 8;
        const int64_t step = int64_t(16) * ld;
#pragma unroll 4
        for (int i = 0; i < kPasses; ++i, src += step) {
            const int r = first + 16 * i;
            const bool ok = k_ok && r0 + r < R;
            cp_async16(s + swizzled(r, c), ok ? src : g, ok);
        }
    } else {  // slab i / 4 (64 M/N columns), k row first + 16 (i % 4), column chunk c
        const int kr_base = first;
#pragma unroll 4
        for (int i = 0; i < kPasses; ++i) {
            const int h = i / 4, kr = kr_base + 16 * (i % 4), col = r0 + h * 64 + c * 8;
            const bool ok = k0 + kr < K && col < R;
            cp_async16(s + h * kSlabBytes + swizzled(kr, c), ok ? g + int64_t(k0 + kr) * ld + col : g, ok);
        }
    }
}

// K-tile kt of a tile into the stage at `s`, by the producer (load_k_tile's split of the two products).
// SWIGLU: the tile's B is 128 gate rows from n0 / 2 on, then the same 128 rows of the up half.
template <class W, bool A_K, bool B_K, bool SWIGLU>
__device__ __forceinline__ void produce_k_tile(unsigned char* s, const GroupedGemmProblem& p, int m0, int n0, int kt,
                                               int k_tiles1, int tid) {
    const bool first = kt < k_tiles1;
    const int k0 = (first ? kt : kt - k_tiles1) * kBK, K = first ? p.k : p.k2;
    const auto* a = static_cast<const uint16_t*>(first ? p.a : p.a2);
    const auto* b = static_cast<const uint16_t*>(first ? p.b : p.b2);
    produce_operand<kBM, A_K>(s, a, first ? p.lda : p.lda2, m0, p.m, k0, K, tid);
    if constexpr (SWIGLU) {
        static_assert(W::BN == 256 && B_K, "the SwiGLU tile: 128 gate + 128 up rows, K-contiguous");
        const int inter = p.n / 2;
        produce_operand<128, true>(s + W::kABytes, b, p.ldb, n0 / 2, inter, k0, K, tid);
        produce_operand<128, true>(s + W::kABytes + 128 * 128, b + int64_t(inter) * p.ldb, p.ldb, n0 / 2, inter, k0, K,
                                   tid);
    } else {
        produce_operand<W::BN, B_K>(s + W::kABytes, b, first ? p.ldb : p.ldb2, n0, p.n, k0, K, tid);
    }
}

// The SwiGLU tile's store: columns j < 16 of the accumulators are gate values, j + 16 the up values
// of the same output column; C [M, n / 2] bf16 = silu(g) · u (store_warpgroup_tile's layout).
__device__ __forceinline__ void store_swiglu_tile(const GroupedGemmArgs& args, const GroupedGemmProblem& p,
                                                  int row_base, int n0, int t, const float (&d)[128]) {
    const int inter = p.n / 2, h0 = n0 / 2, row0 = row_base + (t / 32) * 16 + (t % 32) / 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int row = row0 + 8 * i;
        if (row >= p.m) continue;
        auto* c = static_cast<uint16_t*>(p.c) + int64_t(row) * p.ldc;
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            const int col = h0 + 8 * j + 2 * (t % 4);
            if (col >= inter) continue;  // inter is a multiple of 8: col + 1 is inside too
            const float g0 = args.alpha * d[4 * j + 2 * i], g1 = args.alpha * d[4 * j + 2 * i + 1];
            const float u0 = args.alpha * d[4 * (j + 16) + 2 * i], u1 = args.alpha * d[4 * (j + 16) + 2 * i + 1];
            const uint32_t pair = uint32_t(f32_to_bf16_bits(silu(g0) * u0)) |
                                  (uint32_t(f32_to_bf16_bits(silu(g1) * u1)) << 16);
            *reinterpret_cast<uint32_t*>(c + col) = pair;
        }
    }
}

__device__ __forceinline__ int k_tiles_of(const GroupedGemmProblem& p) { return (p.k + kBK - 1) / kBK; }

template <class W, bool A_K, bool B_K, bool SWIGLU>
__device__ __forceinline__ void produce(const GroupedGemmArgs& args, int total, unsigned char* ring, uint64_t* full,
                                        uint64_t* empty) {
    const int tid = int(threadIdx.x);  // 0–127
    RingSlot slot;
    for (int tile = int(blockIdx.x); tile < total; tile += int(gridDim.x)) {
        const TileAt at = locate_tile<W::BN>(args, tile);
        const int k_tiles1 = k_tiles_of(at.p), k_tiles = k_tiles1 + (at.p.k2 + kBK - 1) / kBK;
        for (int kt = 0; kt < k_tiles; ++kt) {
            mbar_wait(&empty[slot.stage], slot.phase ^ 1);  // both consumers released this stage's last use
            produce_k_tile<W, A_K, B_K, SWIGLU>(ring + slot.stage * W::kStageBytes, at.p, at.m0, at.n0, kt, k_tiles1, tid);
            cp_async_arrive(&full[slot.stage]);
            slot.advance<W::kStages>();
        }
    }
    asm volatile("cp.async.wait_all;\n" ::: "memory");  // no copy outlives its thread
}

// B's k-tile at k0 of a tile at n0 from `map` into the stage's B part: K-contiguous, one box of BN
// rows (n) × 64 k; N-contiguous (an input gradient's weights), BN / 64 boxes of 64 n × 64 k rows,
// one per 64-wide slab. Rows past the problem's k there are the next problem's (or zeros): A's
// columns past k arrive as zeros (its tensor is k wide), so they add nothing.
template <class W, bool B_K>
__device__ __forceinline__ void tma_load_b(unsigned char* sb, const CUtensorMap* map, int k0, int row, int n0,
                                           uint64_t* bar) {
    if constexpr (B_K) {
        tma_load_2d(sb, map, k0, row + n0, bar);
    } else {
#pragma unroll
        for (int h = 0; h < W::BN / 64; ++h) tma_load_2d(sb + h * kSlabBytes, map, n0 + 64 * h, row + k0, bar);
    }
}

// The producer with the tensor memory accelerator: one thread announces a stage's bytes on its
// `full` barrier and issues its box copies; the copies complete the barrier.
template <class W, bool B_K, bool SWIGLU>
__device__ __forceinline__ void produce_tma(const GroupedGemmArgs& args, const TmaMaps& maps, int total,
                                            unsigned char* ring, uint64_t* full, uint64_t* empty) {
    if (threadIdx.x != 0) return;
    RingSlot slot;
    for (int tile = int(blockIdx.x); tile < total; tile += int(gridDim.x)) {
        const TileSpot spot = locate_tile_spot<W::BN>(args, tile);
        const GroupedGemmProblem& p = *spot.p;
        // The tensors' widths are the reductions (A's zero columns past k are what makes the rows
        // past a problem harmless); the host checked it for tables it built: a table built on the
        // device that breaks it stops here rather than giving wrong sums.
        if (p.k != args.a_tensor.cols || (p.k2 > 0 && (SWIGLU || p.k2 != args.a2_tensor.cols))) __trap();
        const int k_tiles1 = k_tiles_of(p), k_tiles = k_tiles1 + (p.k2 + kBK - 1) / kBK;
        const int a_row = tensor_row(p.a, args.a_tensor) + spot.m0, b_row = tensor_row(p.b, args.b_tensor);
        const int a2_row = p.k2 > 0 ? tensor_row(p.a2, args.a2_tensor) + spot.m0 : 0;
        const int b2_row = p.k2 > 0 ? tensor_row(p.b2, args.b2_tensor) : 0;
        for (int kt = 0; kt < k_tiles; ++kt) {
            mbar_wait(&empty[slot.stage], slot.phase ^ 1);  // both consumers released this stage's last use
            unsigned char* s = ring + slot.stage * W::kStageBytes;
            uint64_t* bar = &full[slot.stage];
            mbar_expect_tx(bar, W::kStageBytes);  // whole boxes, zero-filled parts included
            if (kt < k_tiles1) {
                const int k0 = kt * kBK;
                tma_load_2d(s, &maps.a, k0, a_row, bar);
                if constexpr (SWIGLU) {  // 128 gate rows from n0 / 2, then the same 128 rows of the up half
                    tma_load_2d(s + W::kABytes, &maps.b, k0, b_row + spot.n0 / 2, bar);
                    tma_load_2d(s + W::kABytes + 128 * 128, &maps.b, k0, b_row + p.n / 2 + spot.n0 / 2, bar);
                } else {
                    tma_load_b<W, B_K>(s + W::kABytes, &maps.b, k0, b_row, spot.n0, bar);
                }
            } else {
                const int k0 = (kt - k_tiles1) * kBK;
                tma_load_2d(s, &maps.a2, k0, a2_row, bar);
                tma_load_b<W, B_K>(s + W::kABytes, &maps.b2, k0, b2_row, spot.n0, bar);
            }
            slot.advance<W::kStages>();
        }
    }
}

template <class W, bool A_K, bool B_K, bool SWIGLU, bool TMA>
__device__ __forceinline__ void consume(const GroupedGemmArgs& args, int total, unsigned char* ring, uint64_t* full,
                                        uint64_t* empty) {
    const int cw = warp_uniform(int(threadIdx.x) / 128 - 1), t = int(threadIdx.x) % 128;  // consumer 0 or 1: rows 64·cw…
    RingSlot slot;
    for (int tile = int(blockIdx.x); tile < total; tile += int(gridDim.x)) {
        // Only the tile's place and its K and M through the loop: the problem's other fields are
        // read again for the store (held through the loop they spill the wide tile's registers).
        const TileSpot spot = locate_tile_spot<W::BN>(args, tile);
        const int k_tiles = k_tiles_of(*spot.p) + (spot.p->k2 + kBK - 1) / kBK;
        const bool active = warp_uniform(spot.m0 + cw * 64 < spot.p->m);  // uniform over the warpgroup, as wgmma needs
        float d[W::kAccum];
#pragma unroll
        for (int i = 0; i < W::kAccum; ++i) d[i] = 0.0f;
        int held = -1;  // the stage the last wgmma group in flight reads
        for (int kt = 0; kt < k_tiles; ++kt) {
            mbar_wait(&full[slot.stage], slot.phase);
            if constexpr (!TMA) fence_proxy_async();  // cp.async's copies (generic proxy) before wgmma's reads (async proxy)
            if (active) {
                const unsigned char* s = ring + slot.stage * W::kStageBytes;
                // This warpgroup's 64 rows (or M columns) of A; after it the group that read stage `held` retired.
                multiply_stage<A_K, B_K>(d, s + cw * kSlabBytes, s + W::kABytes);
            }
            if (held >= 0) mbar_arrive(&empty[held]);
            held = slot.stage;
            slot.advance<W::kStages>();
        }
        // One branch from the last wait to the store: ptxas then sees the accumulators settled
        // (else it injects a wait of its own, warning C7517).
        if (active) {
            wgmma_wait<0>();
            pin(d);
            if (held >= 0) mbar_arrive(&empty[held]);
            if constexpr (SWIGLU) store_swiglu_tile(args, *spot.p, spot.m0 + cw * 64, spot.n0, t, d);
            else store_warpgroup_tile<W::BN>(args, *spot.p, spot.m0 + cw * 64, spot.n0, t, d);
        } else if (held >= 0) {
            mbar_arrive(&empty[held]);
        }
    }
}

// TMA: the operands come through `maps` (A K-contiguous, B either way), else through cp.async.
template <class W, bool A_K, bool B_K, bool SWIGLU, bool TMA>
__global__ void __launch_bounds__(kWsThreads, 1)
    grouped_gemm_wgmma_ws_kernel(GroupedGemmArgs args, const __grid_constant__ TmaMaps maps) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    unsigned char* ring = align_1024(smem_raw);
    auto* full = reinterpret_cast<uint64_t*>(ring + W::kStages * W::kStageBytes);
    uint64_t* empty = full + W::kStages;
    if (threadIdx.x == 0) {
        for (int s = 0; s < W::kStages; ++s) {
            mbar_init(&full[s], TMA ? 1 : kProducerThreads);  // the TMA thread's arrival, or one per copying thread
            mbar_init(&empty[s], kConsumerThreads);
        }
        // The barriers' initialisation visible to the tensor copies (async proxy) that complete on them.
        if constexpr (TMA) asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
    const int total = args.total_tiles >= 0 ? args.total_tiles : args.tile_start[args.count];  // tiles of the call
    if (warp_uniform(threadIdx.x < kProducerThreads)) {
        if constexpr (TMA) produce_tma<W, B_K, SWIGLU>(args, maps, total, ring, full, empty);
        else produce<W, A_K, B_K, SWIGLU>(args, total, ring, full, empty);
    } else {
        consume<W, A_K, B_K, SWIGLU, TMA>(args, total, ring, full, empty);
    }
}

// The current device's multiprocessor count, asked once per device (a launch path).
int multiprocessors() {
    constexpr int kDevices = 64;
    static std::atomic<int> known[kDevices] = {};
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return 1;
    if (device >= 0 && device < kDevices) {
        const int n = known[device].load(std::memory_order_relaxed);
        if (n > 0) return n;
    }
    int n = 1;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n < 1) n = 1;
    if (device >= 0 && device < kDevices) known[device].store(n, std::memory_order_relaxed);
    return n;
}

template <class W, bool A_K, bool B_K, bool SWIGLU = false, bool TMA = false>
cudaError_t launch(const GroupedGemmArgs& args, const TmaMaps& maps, cudaStream_t stream) {
    constexpr size_t smem = ws_smem_bytes<W>();
    static const cudaError_t attr = cudaFuncSetAttribute(grouped_gemm_wgmma_ws_kernel<W, A_K, B_K, SWIGLU, TMA>,
                                                         cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
    if (attr != cudaSuccess) return attr;
    int blocks = args.total_tiles >= 0 ? std::min(multiprocessors(), args.total_tiles) : multiprocessors();
    if (args.max_blocks > 0) blocks = std::min(blocks, args.max_blocks);
    grouped_gemm_wgmma_ws_kernel<W, A_K, B_K, SWIGLU, TMA><<<blocks, kWsThreads, smem, stream>>>(args, maps);
    return cudaGetLastError();
}

// The driver's tensor-map encoder, asked of the runtime once (null where the driver lacks it).
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
EncodeTiled encode_tiled() {
    static const EncodeTiled fn = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult found{};
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found) !=
                cudaSuccess ||
            found != cudaDriverEntryPointSuccess) {
            (void)cudaGetLastError();
            return EncodeTiled(nullptr);
        }
        return reinterpret_cast<EncodeTiled>(f);
    }();
    return fn;
}

// `map` for boxes of 64 columns × box_rows rows of `t`, in the stage's 128-byte swizzle.
bool encode_map(CUtensorMap& map, const GroupedOperandTensor& t, int box_rows) {
    const EncodeTiled encode = encode_tiled();
    if (!encode || !t.set() || t.ld % 8 != 0 || t.ld < t.cols || t.rows >= (int64_t(1) << 31) ||
        reinterpret_cast<uintptr_t>(t.base) % 16 != 0)
        return false;
    const cuuint64_t dims[2] = {cuuint64_t(t.cols), cuuint64_t(t.rows)};
    const cuuint64_t strides[1] = {cuuint64_t(t.ld) * 2};
    const cuuint32_t box[2] = {cuuint32_t(kBK), cuuint32_t(box_rows)};
    const cuuint32_t element_strides[2] = {1, 1};
    return encode(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<void*>(t.base), dims, strides, box,
                  element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                  CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

// Whether this call's operands go through the tensor memory accelerator, its maps filled if so:
// A K-contiguous, both in tensors the caller named (second ones too, when it named them),
// MOE_WGMMA_TMA not 0. b_rows: the rows of one K-contiguous B box (an N-contiguous B's are 64 k).
bool tma_maps(const GroupedGemmArgs& args, int b_rows, TmaMaps& maps) {
    static const bool enabled = [] {
        const char* v = std::getenv("MOE_WGMMA_TMA");
        return !(v && *v && std::atoi(v) == 0);
    }();
    if (!enabled || !args.a_k_contig || !args.a_tensor.set() || !args.b_tensor.set()) return false;
    if (args.swiglu && (args.a2_tensor.set() || args.b2_tensor.set())) return false;  // the SwiGLU tile takes no second product
    const int b_box = args.b_k_contig ? b_rows : kBK;
    if (!encode_map(maps.a, args.a_tensor, kBM) || !encode_map(maps.b, args.b_tensor, b_box)) return false;
    if (args.a2_tensor.set() != args.b2_tensor.set()) return false;
    if (args.a2_tensor.set() && (!encode_map(maps.a2, args.a2_tensor, kBM) || !encode_map(maps.b2, args.b2_tensor, b_box)))
        return false;
    return true;
}

// The rows of one B box: the SwiGLU tile's gate or up half, else the tile's width.
int b_box_rows(const GroupedGemmArgs& args) {
    return args.swiglu || args.variant != kGroupedWgmmaWsWide ? 128 : 256;
}

}  // namespace

bool grouped_gemm_wgmma_ws_tma_ready(const GroupedGemmArgs& args) {
    if (!args.swiglu && args.variant != kGroupedWgmmaWs && args.variant != kGroupedWgmmaWsWide) return false;
    TmaMaps maps{};
    return tma_maps(args, b_box_rows(args), maps);
}

cudaError_t grouped_gemm_wgmma_ws_bf16(const GroupedGemmArgs& args, cudaStream_t stream) {
    if (args.total_tiles == 0) return cudaSuccess;
    TmaMaps maps{};
    if (args.swiglu) {  // grouped_gemm_bf16 checked the layout
        if (tma_maps(args, b_box_rows(args), maps)) return launch<WsTile256, true, true, true, true>(args, maps, stream);
        return launch<WsTile256, true, true, true>(args, maps, stream);
    }
    const bool wide = args.variant == kGroupedWgmmaWsWide;
    if (tma_maps(args, b_box_rows(args), maps)) {  // A K-contiguous; B either way
        if (args.b_k_contig)
            return wide ? launch<WsTile256, true, true, false, true>(args, maps, stream)
                        : launch<WsTile128, true, true, false, true>(args, maps, stream);
        return wide ? launch<WsTile256, true, false, false, true>(args, maps, stream)
                    : launch<WsTile128, true, false, false, true>(args, maps, stream);
    }
    if (wide) return with_layout(args, [&](auto a_k, auto b_k) { return launch<WsTile256, a_k, b_k>(args, maps, stream); });
    return with_layout(args, [&](auto a_k, auto b_k) { return launch<WsTile128, a_k, b_k>(args, maps, stream); });
}

}  // namespace moe::kernels
