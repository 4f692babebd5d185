// The grouped bf16 GEMM of grouped_gemm.h on Hopper's warpgroup tensor-core instructions (wgmma,
// sm_90a): variants kGroupedWgmma (128 × 128 tiles) and kGroupedWgmmaWide (128 × 256). Each block
// computes one output tile of one problem with two warpgroups (256 threads), each owning 64 rows ×
// BN columns in BN / 2 f32 registers a thread (the wide tile reads 25% fewer operand bytes per
// flop from L2).
// Operands travel global → shared through a ring of kStages stages of BK = 64 filled by every thread
// with 16-byte cp.async copies into the 128-byte-swizzled layout wgmma reads without bank conflicts
// (TMA would need a tensor map per expert problem; the copies keep one launch for any problem set),
// and wgmma reads them from shared memory through 64-bit descriptors — K-major for operands stored
// K-contiguous, MN-major (the instruction's transpose flag) for the others, so the forward, input-
// gradient and weight-gradient layouts are one kernel. One wgmma group stays in flight while the
// next stage is issued: a stage is refilled two iterations after the group that read it.
// A warpgroup whose 64 rows all lie past its problem's rows (an expert's half-empty last tile)
// issues no wgmma at all (MOE_WGMMA_KEEP_IDLE=1: it multiplies the zero-filled rows, as before).
//
// Layout of an operand's stage (1024-byte aligned: the swizzle phase is the address's bits 7–9):
// 8 KB slabs of 64 rows × 128 bytes (2 for A, BN / 64 for B), the 16-byte chunk c of slab row r
// stored at chunk c ^ (r mod 8):
//   K-major  (stored K-contiguous): slab row = one M/N row's 64 k values; slab h holds rows 64h…64h+63.
//   MN-major (stored M/N-contiguous): slab row = one k's 64 M/N values; slab h holds columns 64h….
#include <cuda_runtime.h>

#include <cstdlib>

#include "grouped_gemm_wgmma.cuh"
#include "grouped_gemm_wgmma.h"

namespace moe::kernels {
namespace {

// A stage is refilled two iterations after the wgmma group that read it: at least 3 stages.
using Tile128 = WideTile<128, 5>;
using Tile256 = WideTile<256, 4>;

template <class W, bool A_K, bool B_K>
__global__ void __launch_bounds__(kThreads, 1) grouped_gemm_wgmma_kernel(GroupedGemmArgs args, bool skip_idle) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    unsigned char* ring = align_1024(smem_raw);
    const TileAt at = locate_tile<W::BN>(args, int(blockIdx.x));
    const GroupedGemmProblem& p = at.p;
    const int m0 = at.m0, n0 = at.n0;
    const int wg = warp_uniform(int(threadIdx.x) / 128);
    // A problem's last row tile is often partly empty (an expert's rows rarely fill 128): a
    // warpgroup whose 64 rows all lie past the problem issues no wgmma, so the tensor cores serve
    // the other one alone. Uniform over the warpgroup, as wgmma's .sync.aligned needs.
    const bool active = warp_uniform(!skip_idle || m0 + wg * 64 < p.m);

    const int k_tiles1 = (p.k + kBK - 1) / kBK;  // then the second product's k-tiles
    auto load_stage = [&](int stage, int kt) {
        load_k_tile<W, A_K, B_K>(ring + stage * W::kStageBytes, p, m0, n0, kt, k_tiles1);
    };
    float d[W::kAccum];
#pragma unroll
    for (int i = 0; i < W::kAccum; ++i) d[i] = 0.0f;
    const int k_tiles = k_tiles1 + (p.k2 + kBK - 1) / kBK;
    constexpr int kAhead = W::kStages - 2;  // stages in flight beyond the one being multiplied
#pragma unroll
    for (int s = 0; s < kAhead; ++s) {
        if (s < k_tiles) load_stage(s, s);
        cp_async_commit();
    }
    for (int kt = 0; kt < k_tiles; ++kt) {
        cp_async_wait<kAhead - 1>();  // this thread's copies of tile kt landed
        fence_proxy_async();
        __syncthreads();  // every thread's copies of tile kt landed; every group of tile kt - 2 is done
        if (kt + kAhead < k_tiles) load_stage((kt + kAhead) % W::kStages, kt + kAhead);
        cp_async_commit();
        const unsigned char* s = ring + (kt % W::kStages) * W::kStageBytes;
        // A K-major: this warpgroup's 64 rows are slab wg. A MN-major: its 64 M columns are slab wg.
        const unsigned char* a = s + wg * kSlabBytes;
        const unsigned char* b = s + W::kABytes;
        if (active) multiply_stage<A_K, B_K>(d, a, b);  // the group of tile kt - 1 is done (its stage is refilled next iteration)
    }
    cp_async_wait<0>();
    if (active) {  // one branch from the last wait to the store (else ptxas injects a wait: C7517)
        wgmma_wait<0>();
        pin(d);
        store_warpgroup_tile<W::BN>(args, p, m0 + wg * 64, n0, int(threadIdx.x) % 128, d);
    }
}

template <class W, bool A_K, bool B_K>
cudaError_t launch(const GroupedGemmArgs& args, cudaStream_t stream) {
    static const cudaError_t attr = cudaFuncSetAttribute(grouped_gemm_wgmma_kernel<W, A_K, B_K>,
                                                         cudaFuncAttributeMaxDynamicSharedMemorySize, int(W::kSmemBytes));
    if (attr != cudaSuccess) return attr;
    // MOE_WGMMA_KEEP_IDLE=1: idle warpgroups multiply zeros as before (A/B runs; read once).
    static const bool skip_idle = [] {
        const char* v = std::getenv("MOE_WGMMA_KEEP_IDLE");
        return !(v && v[0] == '1');
    }();
    grouped_gemm_wgmma_kernel<W, A_K, B_K><<<args.total_tiles, kThreads, W::kSmemBytes, stream>>>(args, skip_idle);
    return cudaGetLastError();
}

template <class W>
cudaError_t launch_layout(const GroupedGemmArgs& args, cudaStream_t stream) {
    return with_layout(args, [&](auto a_k, auto b_k) { return launch<W, a_k, b_k>(args, stream); });
}

}  // namespace

cudaError_t grouped_gemm_wgmma_bf16(const GroupedGemmArgs& args, cudaStream_t stream) {
    if (args.variant == kGroupedWgmmaWs || args.variant == kGroupedWgmmaWsWide)
        return grouped_gemm_wgmma_ws_bf16(args, stream);
    if (args.total_tiles <= 0) return args.total_tiles == 0 ? cudaSuccess : cudaErrorInvalidValue;
    if (args.variant == kGroupedWgmmaWide) return launch_layout<Tile256>(args, stream);
    return launch_layout<Tile128>(args, stream);
}

}  // namespace moe::kernels
