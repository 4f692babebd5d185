// The (token, expert) slots of one MoE layer grouped by expert, and the GEMMs over the groups
// (engine/cuda/cuda_moe.cpp: the training ops; the prefill forward uses use_padded_slots). Rows of
// expert e are the tokens routed to it in token order. The active experts are sorted into a few
// buckets; every expert of a bucket gets that bucket's largest count of rows (padding rows are
// zero), and each projection runs as ONE pointer-array batched cuBLAS GEMM per bucket. Even
// routing (use_padded_slots) is one bucket: one launch, every expert padded to the busiest one.
// Routing too uneven for that — a random model sends most tokens to a few experts — is split
// into at most kMaxBuckets buckets of similar row counts, so neither the padding nor the launches
// (formerly one GEMM per expert: 576 cuBLAS calls per moonlight-shape LoRA forward) grow with
// the imbalance. Experts without a token take part in no GEMM, so their gradients stay
// exactly as they were.
#pragma once

#include <cublas_v2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "cuda/cuda_context.h"
#include "grouped_gemm.h"

namespace moe::cuda {

// Padded slots or exact rows? A cuBLAS GEMM of one expert with few rows takes ~7.5 µs whatever its
// rows (H100, Nsight Compute, Moonlight prefill 512: 3,300 of them were 25 of the 35 ms), so padding
// wins until its extra rows cost more than those launches; rows are costed at ~500 TFLOP/s. The
// padded scratch (~26 KB per Moonlight row in prefill) is capped at max(4N, 16384) rows.
bool use_padded_slots(int64_t n_active, int64_t max_count, int64_t N, int64_t H, int64_t I);

// Routed experts of at most this many tokens run the fused decode kernels (the ids stay on the
// device); more tokens are grouped on the host (cuda_moe.cpp says why 4; MOE_FUSED_MAX_TOKENS).
int64_t fused_max_tokens();

inline constexpr int kMaxBuckets = 8;

// How a layer's expert GEMMs run: kBuckets (the padded buckets above); kGrouped — every active
// expert over its exact rows, no padding, each projection ONE cublasGemmGroupedBatchedEx call with
// a group per expert (one GEMM per expert where cuBLAS refuses a type); kTiles — exact rows too,
// each projection ONE launch of our grouped tensor-core kernel (kernels/grouped_gemm.h), cuBLAS
// where a layout does not suit it (a width not a multiple of 8); kAuto (the default) — per layer,
// ONE padded cuBLAS batched call when routing is even enough that padding every expert to the
// busiest adds at most kAutoPaddedRatio, else kTiles (why: docs/performance.md, "Expert GEMM
// modes": cuBLAS's batched GEMM beats our kernel on equal counts, our kernel wins everywhere else).
// Chosen by MOE_EXPERT_GEMM=auto|buckets|grouped|tiles (read once).
enum class ExpertGemmMode { kAuto, kBuckets, kGrouped, kTiles };
inline constexpr double kAutoPaddedRatio = 1.25;  // padded rows / real rows
ExpertGemmMode expert_gemm_mode();
const char* expert_gemm_mode_name(ExpertGemmMode mode);  // "auto", "buckets", "grouped", "tiles" (reports)
// Prefill (inference): the down GEMM writes the expert rows y in bf16 and the combine sums them in
// f32 — half the bytes of f32 rows written and gathered back (HF's own MoE keeps them in bf16 too).
// MOE_PREFILL_F32_EXPERT_OUT=1 keeps f32 rows (A/B runs; read once).
bool prefill_bf16_expert_outputs();

// Experts whose GEMMs run as one batched call, each over `rows` rows (its count, padded).
struct ExpertBucket {
    std::vector<int64_t> experts;
    int64_t rows = 0;
};

struct ExpertGroups {
    int64_t T = 0, K = 0, E = 0, N = 0;  // N = T·K slots; slot t·K + k is token t's k-th choice
    int64_t P = 0;                       // grouped rows, padding included
    int64_t max_count = 0;
    std::vector<int64_t> count, offset;  // [E]: rows routed to expert e, and its first row
    std::vector<int64_t> active;         // experts with at least one row, ascending
    std::vector<ExpertBucket> buckets;   // every active expert in exactly one
    bool grouped = false;                // kGrouped / kTiles: one bucket of every active expert, exact rows
    bool tiles = false;                  // kTiles
    std::vector<int32_t> token_of;       // [P] the token of each row, −1 on padding
    std::vector<int32_t> slot_of_row;    // [P] the slot of each row, −1 on padding
    std::vector<int32_t> row_of_slot;    // [N] the row of each slot
};
// The buckets of `count` [E]: experts sorted by count (largest first), a bucket holding experts
// within `ratio` of its largest; the smallest ratio of 1.25, 1.5, 2, 3, 4, 8, ... that needs at
// most kMaxBuckets buckets, so the padded rows stay within ratio × the real ones.
std::vector<ExpertBucket> bucket_experts(const std::vector<int64_t>& count);
// ids [T, K] (host). Throws engine.invalid_argument naming an id outside [0, E).
// kBuckets: even routing (use_padded_slots) keeps one bucket of every active expert padded to
// max_count; only routing too uneven for that is split by bucket_experts. kGrouped, kTiles: no
// padding at all. kAuto: the one padded bucket or kTiles, as above.
ExpertGroups group_by_expert(std::span<const int32_t> ids, int64_t T, int64_t K, int64_t E, int64_t H, int64_t I,
                             ExpertGemmMode mode = expert_gemm_mode());

// Host bytes that reach the device in ONE copy: an op's row maps and GEMM pointer tables, sent
// right after the expert ids were read (the stream is idle then, so the pageable copy costs no
// extra wait).
class Staging {
public:
    // Appends `bytes` at an 8-byte-aligned offset, which it returns.
    size_t add(const void* data, size_t bytes);
    template <class T>
    size_t add(const std::vector<T>& v) { return add(v.data(), v.size() * sizeof(T)); }
    // Copies everything into `dst` (allocated here, freed in stream order with it); returns its base.
    const unsigned char* upload(DeviceContext& ctx, std::unique_ptr<Scratch>& dst) const;

private:
    std::vector<unsigned char> bytes_;
};

// An operand of a grouped GEMM: expert e's matrix, whose first row is the group's row `row0`,
// starts at base + e · per_expert + row0 · per_row (bytes); ld in elements.
struct GroupOperand {
    const void* base = nullptr;
    int64_t per_expert = 0;
    int64_t per_row = 0;
    int64_t ld = 0;
};
inline constexpr int64_t kGroupRows = -1;  // as n or k of a GroupGemm: the expert's rows
// C_e = alpha op(A_e) op(B_e) + beta C_e for every active expert e, A and B bf16, in cuBLAS's
// column-major terms (gemm.h).
struct GroupGemm {
    cublasOperation_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f, beta = 0.0f;
    GroupOperand a, b, c;
    cudaDataType_t c_type = CUDA_R_32F;
    // The tile kernel's SwiGLU epilogue (kernels/grouped_gemm.h, GroupedGemmArgs::swiglu): m = 2I
    // rows of gate then up weights, C the bf16 [rows, I] silu(gate) ⊙ up. Only the tile kernel runs
    // it: add() registers it only where GroupedGemms::swiglu_available(), else throws.
    bool swiglu = false;
};

// Expert e's problem of `gemm` for the grouped kernel (kernels/grouped_gemm.h), its rows starting at
// row0: cuBLAS's column-major C_cm [m, n] = op(A_cm) op(B_cm) read row-major is C [n, m] =
// op(B_cm)ᵀ · op(A_cm)ᵀ, so the kernel's A is cuBLAS's B (K-contiguous unless transposed) and its
// B is cuBLAS's A (K-contiguous when transposed).
struct TileProblem {
    kernels::GroupedGemmProblem p;
    bool a_k_contig = true, b_k_contig = true;
};
TileProblem tile_problem(const GroupGemm& gemm, int64_t e, int64_t row0, int64_t rows);

// The tensors a tile call's operands lie in, for the kernel's TMA copies (kernels::
// GroupedOperandTensor), A K-contiguous (else none): A is cuBLAS's B and B is cuBLAS's A
// (tile_problem), the second products' (`second` when fused) likewise; a K-contiguous B has rows
// n and columns k, an N-contiguous one rows k and columns n. Each tensor starts at its GroupGemm
// operand's base; a problem off its rows, with another width or ld, unsets all four.
struct OperandTensors {
    kernels::GroupedOperandTensor a, b, a2, b2;
};
OperandTensors operand_tensors(const GroupGemm& gemm, const GroupGemm* second,
                               const std::vector<kernels::GroupedGemmProblem>& problems, bool a_k_contig,
                               bool b_k_contig);

// MOE_GROUPED_FUSE (read once): 1 (default) lets GroupedGemms::add fuse second products, 0 not.
bool grouped_fusion_enabled();

class GroupedGemms {
public:
    explicit GroupedGemms(const ExpertGroups& groups) : g_(groups) {}
    // Registers a GEMM (its pointer tables, one per bucket, go into `staging` now); returns its handle.
    // `second` (optional): a product into the same C (same m, n, alpha, c and c_type, beta 1) that,
    // where the tile kernel runs this GEMM, rides on it as a second K segment (kernels/grouped_gemm.h)
    // — one launch, the f32 output written once. fused(handle) says whether it did; if not, the
    // caller registers and runs `second` itself, after this GEMM. MOE_GROUPED_FUSE=0 never fuses
    // (A/B runs).
    int add(const GroupGemm& gemm, Staging& staging, const GroupGemm* second = nullptr);
    bool fused(int i) const { return entries_.at(size_t(i)).fused; }
    // Whether add() will fuse a second product that fits (the tile kernel runs these groups).
    bool fusing() const { return g_.tiles && grouped_fusion_enabled(); }
    // Whether a GroupGemm with swiglu set can run here: the tile kernel runs these groups on a
    // wgmma GPU, and MOE_GROUPED_SWIGLU is not 0 (read once; A/B runs).
    bool swiglu_available() const;
    // Runs GEMM i; `device_staging` is what staging.upload returned.
    void run(cublasHandle_t h, int i, const unsigned char* device_staging) const;

private:
    struct Entry {
        GroupGemm gemm;
        std::vector<size_t> tables;  // per bucket: offset of [A pointers | B pointers | C pointers] in the staging
        std::vector<bool> batched;   // per bucket: 16-byte-aligned pointers, one batched call
        std::vector<int> m, n, k;    // kGrouped: each active expert's shape
        size_t problems = 0, tile_start = 0;  // kTiles: staging offsets of the kernel's tables
        int total_tiles = -1;                 // kTiles: -1 when the layout does not suit the kernel
        int variant = 0;                      // kTiles: the kernel's block tile (tile_variant)
        bool a_k_contig = true, b_k_contig = true;
        bool fused = false;  // kTiles: `second` of add() is each problem's second K segment
        // kTiles: the tensors the problems' operands lie in (GroupedOperandTensor; unset: cp.async copies).
        kernels::GroupedOperandTensor a_tensor, b_tensor, a2_tensor, b2_tensor;
    };
    void add_tiles(Entry& entry, Staging& staging, const GroupGemm* second) const;
    void run_tiles(cublasHandle_t h, const Entry& entry, const unsigned char* device_staging) const;
    void run_grouped(cublasHandle_t h, const Entry& entry, const unsigned char* device_staging) const;
    void run_per_expert(cublasHandle_t h, const GroupGemm& q, const ExpertBucket& bucket, bool exact) const;
    const ExpertGroups& g_;
    std::vector<Entry> entries_;
};

}  // namespace moe::cuda
