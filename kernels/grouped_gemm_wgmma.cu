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

#include "grouped_gemm_common.cuh"
#include "grouped_gemm_wgmma.h"

namespace moe::kernels {
namespace {

constexpr int kBM = 128, kBK = 64, kThreads = 256;
constexpr int kSlabBytes = 64 * 128;  // 64 rows of 128 bytes

// A tile width: BN output columns, kStages stages of A (128 × 64) then B (BN × 64) in shared memory.
template <int BN_, int STAGES_>
struct WideTile {
    static constexpr int BN = BN_, kStages = STAGES_, kAccum = BN / 2;  // f32 accumulators a thread
    static constexpr int kABytes = kBM * 128, kBBytes = BN * 128, kStageBytes = kABytes + kBBytes;
    static constexpr size_t kSmemBytes = size_t(kStages) * kStageBytes + 1024;  // + slack to align to 1024
    static_assert(kStages >= 3, "a stage is refilled two iterations after it was read");
    static_assert(kSmemBytes <= 227 * 1024, "the ring fits one block's shared memory");
};
using Tile128 = WideTile<128, 5>;
using Tile256 = WideTile<256, 4>;

// Byte offset of 16-byte chunk `chunk` of row `row` in the 128-byte swizzle.
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) {
    return uint32_t(row * 128 + ((chunk ^ (row & 7)) << 4));
}

// One operand's ROWS × 64 stage tile from global memory: rows r0… of the M or N extent (bounded
// by R), k from k0 (bounded by K); ROWS / 32 chunks a thread. Chunks outside the problem are zero-filled.
template <int ROWS, bool K_CONTIG>
__device__ __forceinline__ void load_operand(unsigned char* s, const uint16_t* g, int ld, int r0, int R, int k0,
                                             int K) {
#pragma unroll
    for (int i = 0; i < ROWS * kBK / 8 / kThreads; ++i) {
        const int v = int(threadIdx.x) + i * kThreads;
        if constexpr (K_CONTIG) {  // row r's 8 chunks of k
            const int r = v / 8, c = v % 8;
            const bool ok = r0 + r < R && k0 + c * 8 < K;
            cp_async16(s + swizzled(r, c), ok ? g + int64_t(r0 + r) * ld + k0 + c * 8 : g, ok);
        } else {  // slab h, k row kr, its 8 chunks of 8 M/N values
            const int h = v / 512, kr = (v % 512) / 8, c = v % 8;
            const int col = r0 + h * 64 + c * 8;
            const bool ok = k0 + kr < K && col < R;
            cp_async16(s + h * kSlabBytes + swizzled(kr, c), ok ? g + int64_t(k0 + kr) * ld + col : g, ok);
        }
    }
}

// A shared-memory matrix descriptor (PTX "matrix descriptor format"): start address, leading and
// stride byte offsets (all >> 4) and the 128-byte swizzle mode (1 in bits 62–63).
__device__ __forceinline__ uint64_t descriptor(const void* smem, uint32_t leading, uint32_t stride) {
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
    return uint64_t((a & 0x3FFFF) >> 4) | (uint64_t(leading >> 4) << 16) | (uint64_t(stride >> 4) << 32) |
           (uint64_t(1) << 62);
}

// The descriptor of k-step s (16 k) of an operand stage `base` for the 64 rows (A: a warpgroup's
// slab) or BN columns (B) one wgmma reads. K-major: the 8-row groups are 1024 bytes apart and a
// k-step moves 32 bytes along the swizzled row. MN-major: the 8-k groups are 1024 bytes apart, the
// 64-wide slabs 8 KB apart, and a k-step moves 16 rows (2 KB).
template <bool K_MAJOR>
__device__ __forceinline__ uint64_t step_descriptor(const unsigned char* base, int s) {
    if constexpr (K_MAJOR) return descriptor(base + s * 32, 16, 1024);
    else return descriptor(base + s * 2048, kSlabBytes, 1024);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Keeps the compiler from moving the accumulators while a wgmma group that writes them is in flight.
template <int N>
__device__ __forceinline__ void pin(float (&d)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// Shared memory written by the generic proxy (cp.async) is read by wgmma through the async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// d [64 rows, BN cols] of this warpgroup += A [64, 16] · B [16, BN]; TA / TB: 1 for an MN-major operand.
template <int TA, int TB>
__device__ __forceinline__ void wgmma_k16(float (&d)[64], uint64_t a, uint64_t b) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, %67, %68;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(a), "l"(b), "r"(1), "n"(TA), "n"(TB));
}
template <int TA, int TB>
__device__ __forceinline__ void wgmma_k16(float (&d)[128], uint64_t a, uint64_t b) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p, 1, 1, %131, %132;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),
          "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
          "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),
          "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),
          "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]),
          "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]),
          "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),
          "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]),
          "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
        : "l"(a), "l"(b), "r"(1), "n"(TA), "n"(TB));
}

template <class W, bool A_K, bool B_K>
__global__ void __launch_bounds__(kThreads, 1) grouped_gemm_wgmma_kernel(GroupedGemmArgs args, bool skip_idle) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    unsigned char* ring =
        smem_raw + ((1024 - (static_cast<uint32_t>(__cvta_generic_to_shared(smem_raw)) & 1023)) & 1023);
    const int g = find_problem(args.tile_start, args.count, int(blockIdx.x));
    const GroupedGemmProblem p = args.problems[g];
    const int local = int(blockIdx.x) - args.tile_start[g];
    const int tiles_n = (p.n + W::BN - 1) / W::BN;
    const int m0 = (local / tiles_n) * kBM, n0 = (local % tiles_n) * W::BN;
    const auto* A = static_cast<const uint16_t*>(p.a);
    const auto* B = static_cast<const uint16_t*>(p.b);
    const int wg = int(threadIdx.x) / 128;
    // A problem's last row tile is often partly empty (an expert's rows rarely fill 128): a
    // warpgroup whose 64 rows all lie past the problem issues no wgmma, so the tensor cores serve
    // the other one alone. Uniform over the warpgroup, as wgmma's .sync.aligned needs.
    const bool active = !skip_idle || m0 + wg * 64 < p.m;

    const int k_tiles1 = (p.k + kBK - 1) / kBK;  // then the second product's k-tiles
    auto load_stage = [&](int stage, int kt) {
        unsigned char* s = ring + stage * W::kStageBytes;
        if (kt < k_tiles1) {
            load_operand<kBM, A_K>(s, A, p.lda, m0, p.m, kt * kBK, p.k);
            load_operand<W::BN, B_K>(s + W::kABytes, B, p.ldb, n0, p.n, kt * kBK, p.k);
        } else {
            const int k0 = (kt - k_tiles1) * kBK;
            load_operand<kBM, A_K>(s, static_cast<const uint16_t*>(p.a2), p.lda2, m0, p.m, k0, p.k2);
            load_operand<W::BN, B_K>(s + W::kABytes, static_cast<const uint16_t*>(p.b2), p.ldb2, n0, p.n, k0, p.k2);
        }
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
        if (active) {
            wgmma_fence();
            pin(d);
#pragma unroll
            for (int ks = 0; ks < kBK / 16; ++ks)
                wgmma_k16<A_K ? 0 : 1, B_K ? 0 : 1>(d, step_descriptor<A_K>(a, ks), step_descriptor<B_K>(b, ks));
            wgmma_commit();
            pin(d);
            wgmma_wait<1>();  // the group of tile kt - 1 is done (its stage is refilled next iteration)
            pin(d);
        }
    }
    if (active) wgmma_wait<0>();
    pin(d);
    cp_async_wait<0>();
    if (!active) return;

    // Thread t of the warpgroup holds rows 16·(t/32) + (t%32)/4 + {0, 8}, columns 8j + 2·(t%4) + {0, 1}:
    // d[4j + 2i + {0, 1}] for row half i.
    const int t = int(threadIdx.x) % 128;
    const int row0 = m0 + wg * 64 + (t / 32) * 16 + (t % 32) / 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int row = row0 + 8 * i;
        if (row >= p.m) continue;
#pragma unroll
        for (int j = 0; j < W::BN / 8; ++j) {
            const int col = n0 + 8 * j + 2 * (t % 4);
            if (col < p.n) store_pair(args, p, row, col, args.alpha * d[4 * j + 2 * i], args.alpha * d[4 * j + 2 * i + 1]);
        }
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
    if (args.total_tiles <= 0) return cudaSuccess;
    if (args.variant == kGroupedWgmmaWide) return launch_layout<Tile256>(args, stream);
    return launch_layout<Tile128>(args, stream);
}

}  // namespace moe::kernels
