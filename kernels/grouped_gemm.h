// A grouped bf16 GEMM on the tensor cores: many independent problems of different shapes (one per
// routed expert) in ONE launch, each C_g [M_g, N_g] = alpha · A_g [M_g, K_g] · B_g [K_g, N_g]
// (+ beta · C_g), row-major C, f32 accumulation, f32 or bf16 output. A and B may each be stored
// K-contiguous or not, which covers the three products of a linear layer's training step:
//   forward        y [rows, out]  = x [rows, in] · W [out, in]ᵀ     A K-contig, B K-contig (W's rows)
//   input grad     dx [rows, in]  = dy [rows, out] · W [out, in]    A K-contig, B N-contig
//   weight grad    dW [out, in]  += dy [rows, out]ᵀ · x [rows, in]  A M-contig, B N-contig
// Unlike a padded batched GEMM, every problem runs over its exact rows (no padding rows), and
// unlike one GEMM per expert, small problems share the launch. Used by engine/cuda/expert_groups.cpp
// (MOE_EXPERT_GEMM=tiles); tests/cuda/grouped_gemm_test.cpp checks it against cuBLAS.
//
// Requirements (grouped_gemm_supported): every contiguous dimension (the stored rows' width) and
// every ld a multiple of 8 elements, every base pointer 16-byte aligned; the strided dimension
// (rows, possibly 0 or odd) is free.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

struct GroupedGemmProblem {
    const void* a = nullptr;  // bf16
    const void* b = nullptr;  // bf16
    void* c = nullptr;        // f32 or bf16, row-major [M, ldc]
    int32_t m = 0, n = 0, k = 0;
    int32_t lda = 0, ldb = 0, ldc = 0;  // elements
    // An optional second product over the same output, C = alpha · (A · B + A2 [M, k2] · B2 [k2, N])
    // (+ beta · C), stored in the same layouts: its K continues the first one's in the same
    // accumulators. A LoRA term x·A·B rides on its base projection this way (A2 the rank products,
    // k2 the rank) instead of reading and writing the whole f32 output again. k2 = 0: none.
    const void* a2 = nullptr;
    const void* b2 = nullptr;
    int32_t k2 = 0, lda2 = 0, ldb2 = 0;
};

// A row-major bf16 tensor [rows, cols] (rows ld elements apart) holding one operand of every
// problem of a call: the gathered token rows, the stacked expert weights. With a_tensor and
// b_tensor set (and a2_tensor / b2_tensor where problems have second products) and A
// K-contiguous, the persistent wgmma variants (8, 9) copy their operands with the tensor memory
// accelerator (one thread issues a stage's copies) instead of 128 threads' cp.async; a problem's
// first row is its pointer's offset from `base`, in rows. A's `cols` must equal every problem's k
// (k2 for the second tensors); a K-contiguous B's too, an N-contiguous B's (rows k, columns n) its
// n; every ld equal `ld`. A tile's rows past its problem then hold the next problem's rows or zeros
// (past `rows`): only output rows / columns that are not stored read them, and B's rows past k
// meet A's zero columns (finite B values: weights, LoRA factors).
struct GroupedOperandTensor {
    const void* base = nullptr;
    int64_t rows = 0;
    int32_t cols = 0, ld = 0;
    bool set() const { return base != nullptr && rows > 0 && cols > 0; }
};

struct GroupedGemmArgs {
    const GroupedGemmProblem* problems = nullptr;  // device [count]
    const int32_t* tile_start = nullptr;           // device [count + 1]: first output tile of each problem
    int32_t count = 0;
    // −1: tile_start[count] on the device (the persistent variants 8 and 9 on a wgmma GPU only, whose
    // grid does not depend on it): a problem table built on the device (expert_grouping.h) runs
    // without the host learning its size.
    int32_t total_tiles = 0;
    bool a_k_contig = true;  // A[m, k] at a[m·lda + k]; else at a[k·lda + m]
    bool b_k_contig = true;  // B[k, n] at b[n·ldb + k]; else at b[k·ldb + n]
    bool c_bf16 = false;
    float alpha = 1.0f, beta = 0.0f;
    int variant = 0;  // the block tile (grouped_gemm_tile); tile_start must count tiles of this variant
    int max_blocks = 0;  // persistent variants (8, 9): at most this many blocks; 0 = one per multiprocessor
    // A SwiGLU epilogue (variant 9 on a wgmma GPU, grouped_gemm_swiglu_available; A and B
    // K-contiguous, beta 0, no second products): each problem's B holds n = 2·I rows, gate rows
    // [0, I) then up rows [I, 2I), and C is bf16 [M, I] = silu(alpha·A·B_gateᵀ) ⊙ (alpha·A·B_upᵀ);
    // each 256-wide tile (counted over n as usual) multiplies 128 gate rows and their 128 up rows,
    // so the gate/up products never reach memory (an MoE layer's prefill: no [rows, 2I] round trip).
    bool swiglu = false;
    // Optional (see GroupedOperandTensor): the tensors the problems' A, B, A2 and B2 lie in, A
    // K-contiguous. MOE_WGMMA_TMA=0 keeps the cp.async copies (A/B runs).
    GroupedOperandTensor a_tensor, b_tensor, a2_tensor, b2_tensor;
};

// The output tile of a variant: 0 (the default) and 1–3 are tiles for wide outputs, 4 is 128 × 32
// for narrow ones (N a LoRA rank), 5 is 32 × 128 for short ones (M a LoRA rank), all mma.sync
// (any sm_80+ GPU); 6 is 128 × 128 and 7 is 128 × 256 on Hopper's wgmma (grouped_gemm_wgmma.cu),
// 8 and 9 the same two tiles with a copying warpgroup and persistent blocks (grouped_gemm_wgmma_ws.cu);
// on a GPU other than compute capability 9.0 the wgmma variants run the mma.sync tile of the same
// shape, 0 and 2. kGroupedGemmVariants of them; grouped_gemm.cu lists their shapes.
struct GroupedGemmTile {
    int m = 0, n = 0;
};
inline constexpr int kGroupedGemmVariants = 10;
inline constexpr int kGroupedNarrowN = 4, kGroupedShortM = 5, kGroupedWgmma = 6, kGroupedWgmmaWide = 7;
inline constexpr int kGroupedWgmmaWs = 8, kGroupedWgmmaWsWide = 9;
inline bool grouped_gemm_is_wgmma(int variant) { return variant >= kGroupedWgmma && variant <= kGroupedWgmmaWsWide; }
inline bool grouped_gemm_is_wide(int variant) { return variant == kGroupedWgmmaWide || variant == kGroupedWgmmaWsWide; }
GroupedGemmTile grouped_gemm_tile(int variant);

// Output tiles of one problem for a variant (host and device use the same count).
inline int32_t grouped_gemm_tiles(int32_t m, int32_t n, int variant = 0) {
    const GroupedGemmTile t = grouped_gemm_tile(variant);
    return ((m + t.m - 1) / t.m) * ((n + t.n - 1) / t.n);
}

// Whether a problem's layout meets the requirements above, its second product's included (host
// check, before registering it).
bool grouped_gemm_supported(const GroupedGemmProblem& p, bool a_k_contig, bool b_k_contig);

// Whether GroupedGemmArgs::swiglu runs on the current device (compute capability 9.0).
bool grouped_gemm_swiglu_available();

// Whether the persistent wgmma variants (8, 9) would copy this call's operands with the tensor
// memory accelerator on the current device (GroupedOperandTensor; tests check that they do).
bool grouped_gemm_tma_ready(const GroupedGemmArgs& args);

cudaError_t grouped_gemm_bf16(const GroupedGemmArgs& args, cudaStream_t stream);

}  // namespace moe::kernels
