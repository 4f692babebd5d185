// Device helpers of the two wgmma grouped-GEMM kernels (sm_90a): grouped_gemm_wgmma.cu (every
// thread copies and multiplies, one tile per block) and grouped_gemm_wgmma_ws.cu (a copying
// warpgroup feeds two multiplying ones, persistent blocks). The stage layout, the 128-byte swizzle,
// the shared-memory descriptors and the wgmma instructions are theirs in common; the file comment of
// grouped_gemm_wgmma.cu describes them.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "grouped_gemm_common.cuh"

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
    static_assert(kSmemBytes <= 227 * 1024, "the ring fits one block's shared memory");
};

// Byte offset of 16-byte chunk `chunk` of row `row` in the 128-byte swizzle.
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) {
    return uint32_t(row * 128 + ((chunk ^ (row & 7)) << 4));
}

// One operand's ROWS × 64 stage tile from global memory: rows r0… of the M or N extent (bounded
// by R), k from k0 (bounded by K); ROWS / 32 chunks for each of the block's kThreads threads.
// Chunks outside the problem are zero-filled.
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

// d += this warpgroup's 64 rows of the stage's A (slab `a`) · its B (`b`): the stage's four k16
// wgmma as one group, then a wait until at most one group (this one) is in flight, so the stage
// read by the group before is free again.
template <bool A_K, bool B_K, int N>
__device__ __forceinline__ void multiply_stage(float (&d)[N], const unsigned char* a, const unsigned char* b) {
    wgmma_fence();
    pin(d);
#pragma unroll
    for (int ks = 0; ks < kBK / 16; ++ks)
        wgmma_k16<A_K ? 0 : 1, B_K ? 0 : 1>(d, step_descriptor<A_K>(a, ks), step_descriptor<B_K>(b, ks));
    wgmma_commit();
    pin(d);
    wgmma_wait<1>();
    pin(d);
}

// K-tile kt of a tile at (m0, n0) into the stage at `s` (A then B), by every thread of the block:
// the first product's k-tiles, then (kt ≥ k_tiles1) the second product's.
template <class W, bool A_K, bool B_K>
__device__ __forceinline__ void load_k_tile(unsigned char* s, const GroupedGemmProblem& p, int m0, int n0, int kt,
                                            int k_tiles1) {
    if (kt < k_tiles1) {
        const int k0 = kt * kBK;
        load_operand<kBM, A_K>(s, static_cast<const uint16_t*>(p.a), p.lda, m0, p.m, k0, p.k);
        load_operand<W::BN, B_K>(s + W::kABytes, static_cast<const uint16_t*>(p.b), p.ldb, n0, p.n, k0, p.k);
    } else {
        const int k0 = (kt - k_tiles1) * kBK;
        load_operand<kBM, A_K>(s, static_cast<const uint16_t*>(p.a2), p.lda2, m0, p.m, k0, p.k2);
        load_operand<W::BN, B_K>(s + W::kABytes, static_cast<const uint16_t*>(p.b2), p.ldb2, n0, p.n, k0, p.k2);
    }
}

// `v` as lane 0 has it. ptxas proves a value uniform over the warp only through such a broadcast;
// a wgmma behind a branch it cannot prove uniform is serialized (warning C7518: each waits for the
// one before), which cost the expert GEMMs ~20% when the idle-warpgroup branch first came in.
template <class T>
__device__ __forceinline__ T warp_uniform(T v) { return T(__shfl_sync(0xffffffffu, int(v), 0)); }

// The 1024-byte-aligned start of the dynamic shared memory (the swizzle phase is the address's bits 7–9).
__device__ __forceinline__ unsigned char* align_1024(unsigned char* smem) {
    return smem + ((1024 - (static_cast<uint32_t>(__cvta_generic_to_shared(smem)) & 1023)) & 1023);
}

// The output tile `tile` of args: its problem (in global memory) and the tile's first row and column.
struct TileSpot {
    const GroupedGemmProblem* p = nullptr;
    int m0 = 0, n0 = 0;
};
template <int BN>
__device__ __forceinline__ TileSpot locate_tile_spot(const GroupedGemmArgs& args, int tile) {
    const int g = find_problem(args.tile_start, args.count, tile);
    TileSpot t;
    t.p = args.problems + g;
    const int local = tile - args.tile_start[g];
    const int tiles_n = (t.p->n + BN - 1) / BN;
    t.m0 = (local / tiles_n) * kBM;
    t.n0 = (local % tiles_n) * BN;
    return t;
}
// The same with the problem copied into registers.
struct TileAt {
    GroupedGemmProblem p;
    int m0 = 0, n0 = 0;
};
template <int BN>
__device__ __forceinline__ TileAt locate_tile(const GroupedGemmArgs& args, int tile) {
    const TileSpot s = locate_tile_spot<BN>(args, tile);
    return TileAt{*s.p, s.m0, s.n0};
}

// Warpgroup-local thread t (0–127) holds rows 16·(t/32) + (t%32)/4 + {0, 8} of its 64, columns
// 8j + 2·(t%4) + {0, 1}: d[4j + 2i + {0, 1}] for row half i. Stores them (alpha, beta applied)
// where they lie inside the problem.
template <int BN>
__device__ __forceinline__ void store_warpgroup_tile(const GroupedGemmArgs& args, const GroupedGemmProblem& p,
                                                     int row_base, int n0, int t, const float (&d)[BN / 2]) {
    const int row0 = row_base + (t / 32) * 16 + (t % 32) / 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int row = row0 + 8 * i;
        if (row >= p.m) continue;
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            const int col = n0 + 8 * j + 2 * (t % 4);
            if (col < p.n) store_pair(args, p, row, col, args.alpha * d[4 * j + 2 * i], args.alpha * d[4 * j + 2 * i + 1]);
        }
    }
}

}  // namespace
}  // namespace moe::kernels
