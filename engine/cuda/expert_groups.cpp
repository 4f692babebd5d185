#include "cuda/expert_groups.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "cuda/cuda_check.h"
#include "cuda/gemm.h"

namespace moe::cuda {

ExpertGemmMode expert_gemm_mode() {
    static const ExpertGemmMode mode = [] {
        const char* v = std::getenv("MOE_EXPERT_GEMM");
        const std::string s = v ? v : "";
        if (s == "buckets") return ExpertGemmMode::kBuckets;
        if (s == "grouped") return ExpertGemmMode::kGrouped;
        if (s == "tiles") return ExpertGemmMode::kTiles;
        if (!s.empty() && s != "auto")
            spdlog::warn("MOE_EXPERT_GEMM='{}' is not auto, buckets, grouped or tiles: using auto", s);
        return ExpertGemmMode::kAuto;
    }();
    return mode;
}

bool prefill_bf16_expert_outputs() {
    static const bool bf16 = [] {
        const char* v = std::getenv("MOE_PREFILL_F32_EXPERT_OUT");
        return !(v && v[0] == '1');
    }();
    return bf16;
}

const char* expert_gemm_mode_name(ExpertGemmMode mode) {
    switch (mode) {
        case ExpertGemmMode::kGrouped: return "grouped";
        case ExpertGemmMode::kTiles: return "tiles";
        case ExpertGemmMode::kBuckets: return "buckets";
        case ExpertGemmMode::kAuto: break;
    }
    return "auto";
}

bool use_padded_slots(int64_t n_active, int64_t max_count, int64_t N, int64_t H, int64_t I) {
    const int64_t rows = n_active * max_count;
    if (rows > std::max<int64_t>(4 * N, 16384)) return false;
    const double flop_per_row = 6.0 * double(H) * double(I), rate = 5e14, launch_s = 7.5e-6;
    const double padded_s = double(rows) * flop_per_row / rate;
    const double exact_s = double(N) * flop_per_row / rate + 2.0 * double(n_active) * launch_s;
    return padded_s <= exact_s;
}

std::vector<ExpertBucket> bucket_experts(const std::vector<int64_t>& count) {
    std::vector<int64_t> order;
    for (int64_t e = 0; e < int64_t(count.size()); ++e)
        if (count[size_t(e)] > 0) order.push_back(e);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return count[size_t(x)] > count[size_t(y)]; });
    for (double ratio : {1.25, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0, 64.0, 1e18}) {
        std::vector<ExpertBucket> buckets;
        for (int64_t e : order) {
            const int64_t c = count[size_t(e)];
            if (buckets.empty() || double(buckets.back().rows) > ratio * double(c)) buckets.push_back({{}, c});
            buckets.back().experts.push_back(e);
        }
        if (buckets.size() <= size_t(kMaxBuckets)) {
            for (ExpertBucket& b : buckets) std::sort(b.experts.begin(), b.experts.end());
            return buckets;
        }
    }
    return {};  // not reached: the last ratio makes one bucket
}

ExpertGroups group_by_expert(std::span<const int32_t> ids, int64_t T, int64_t K, int64_t E, int64_t H, int64_t I,
                             ExpertGemmMode mode) {
    ExpertGroups g;
    g.T = T;
    g.K = K;
    g.E = E;
    g.N = T * K;
    if (int64_t(ids.size()) != g.N) throw_invalid_argument("moe: expert ids do not match [T, K]");
    g.count.assign(size_t(E), 0);
    for (int32_t e : ids) {
        if (e < 0 || e >= E) throw_invalid_argument("moe: expert id " + std::to_string(e) + " out of range");
        ++g.count[size_t(e)];
    }
    g.max_count = g.N > 0 ? *std::max_element(g.count.begin(), g.count.end()) : 0;
    for (int64_t e = 0; e < E; ++e)
        if (g.count[size_t(e)] > 0) g.active.push_back(e);
    if (mode == ExpertGemmMode::kAuto)
        mode = double(g.active.size()) * double(g.max_count) <= kAutoPaddedRatio * double(g.N) ? ExpertGemmMode::kBuckets
                                                                                               : ExpertGemmMode::kTiles;
    g.grouped = mode != ExpertGemmMode::kBuckets && !g.active.empty();
    g.tiles = g.grouped && mode == ExpertGemmMode::kTiles;
    if (g.active.empty())
        g.buckets = {};
    else if (g.grouped)
        g.buckets = {ExpertBucket{g.active, 0}};  // rows: each expert's own count
    else if (use_padded_slots(int64_t(g.active.size()), g.max_count, g.N, H, I))
        g.buckets = {ExpertBucket{g.active, g.max_count}};  // one launch: every expert padded to the busiest
    else
        g.buckets = bucket_experts(g.count);  // uneven: a few launches instead of one per expert
    g.offset.assign(size_t(E), 0);
    int64_t next = 0;
    for (const ExpertBucket& b : g.buckets)
        for (int64_t e : b.experts) {
            g.offset[size_t(e)] = next;
            next += g.grouped ? g.count[size_t(e)] : b.rows;
        }
    g.P = next;
    g.token_of.assign(size_t(g.P), -1);
    g.slot_of_row.assign(size_t(g.P), -1);
    g.row_of_slot.assign(size_t(g.N), -1);
    std::vector<int64_t> fill(g.offset);
    for (int64_t slot = 0; slot < g.N; ++slot) {
        const int64_t row = fill[size_t(ids[size_t(slot)])]++;
        g.token_of[size_t(row)] = int32_t(slot / K);
        g.slot_of_row[size_t(row)] = int32_t(slot);
        g.row_of_slot[size_t(slot)] = int32_t(row);
    }
    return g;
}

size_t Staging::add(const void* data, size_t bytes) {
    const size_t at = (bytes_.size() + 7) / 8 * 8;
    bytes_.resize(at + bytes);
    if (bytes > 0) std::memcpy(bytes_.data() + at, data, bytes);
    return at;
}

const unsigned char* Staging::upload(DeviceContext& ctx, std::unique_ptr<Scratch>& dst) const {
    dst = std::make_unique<Scratch>(ctx, std::max<size_t>(bytes_.size(), 8), "MoE row maps and GEMM pointer tables");
    ctx.upload(dst->as<void>(), bytes_.data(), bytes_.size());
    return dst->as<const unsigned char>();
}

namespace {
int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}
const void* at(const GroupOperand& o, int64_t e, int64_t row0) {
    return static_cast<const unsigned char*>(o.base) + e * o.per_expert + row0 * o.per_row;
}
int64_t dim(int64_t d, int64_t rows) { return d == kGroupRows ? rows : d; }
}  // namespace

bool grouped_fusion_enabled() {
    static const bool on = env_int("MOE_GROUPED_FUSE", 1) == 1;  // 0: every second product on its own (A/B runs)
    return on;
}

bool GroupedGemms::swiglu_available() const {
    static const bool enabled = env_int("MOE_GROUPED_SWIGLU", 1) == 1;
    return enabled && g_.tiles && kernels::grouped_gemm_swiglu_available();
}

int GroupedGemms::add(const GroupGemm& gemm, Staging& staging, const GroupGemm* second) {
    if (!grouped_fusion_enabled()) second = nullptr;
    Entry entry;
    entry.gemm = gemm;
    if (gemm.swiglu) {  // the tile kernel's epilogue or nothing
        if (!swiglu_available() || second) throw_invalid_argument("GroupedGemms::add: no SwiGLU epilogue here");
        add_tiles(entry, staging, nullptr);
        if (entry.total_tiles < 0) throw_invalid_argument("GroupedGemms::add: the SwiGLU GEMM's layout does not suit the tile kernel");
        entries_.push_back(std::move(entry));
        return int(entries_.size()) - 1;
    }
    if (g_.tiles) add_tiles(entry, staging, second);
    if (entry.total_tiles >= 0) {  // the tile kernel takes it: no cuBLAS tables needed
        entries_.push_back(std::move(entry));
        return int(entries_.size()) - 1;
    }
    if (g_.grouped)
        for (int64_t e : g_.active) {
            const int64_t rows = g_.count[size_t(e)];
            entry.m.push_back(int(dim(gemm.m, rows)));
            entry.n.push_back(int(dim(gemm.n, rows)));
            entry.k.push_back(int(dim(gemm.k, rows)));
        }
    for (const ExpertBucket& bucket : g_.buckets) {
        const size_t n = bucket.experts.size();
        std::vector<const void*> table(3 * n);
        for (size_t i = 0; i < n; ++i) {
            const int64_t e = bucket.experts[i], row0 = g_.offset[size_t(e)];
            table[i] = at(gemm.a, e, row0);
            table[n + i] = at(gemm.b, e, row0);
            table[2 * n + i] = at(gemm.c, e, row0);
        }
        // cuBLAS cannot see the pointers of a batched call, so its kernels assume them aligned for
        // vector loads; odd widths (tests' expert width 5) give rows at 2-byte offsets. Such a
        // bucket runs per expert instead, where cuBLAS checks each pointer.
        const bool batched = std::all_of(table.begin(), table.end(),
                                         [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; });
        entry.batched.push_back(batched);
        entry.tables.push_back(batched ? staging.add(table) : 0);
    }
    entries_.push_back(std::move(entry));
    return int(entries_.size()) - 1;
}

TileProblem tile_problem(const GroupGemm& q, int64_t e, int64_t row0, int64_t rows) {
    TileProblem t;
    t.a_k_contig = q.tb == CUBLAS_OP_N;
    t.b_k_contig = q.ta == CUBLAS_OP_T;
    t.p.a = at(q.b, e, row0);
    t.p.b = at(q.a, e, row0);
    t.p.c = const_cast<void*>(at(q.c, e, row0));
    t.p.m = int32_t(dim(q.n, rows));
    t.p.n = int32_t(dim(q.m, rows));
    t.p.k = int32_t(dim(q.k, rows));
    t.p.lda = int32_t(q.b.ld);
    t.p.ldb = int32_t(q.a.ld);
    t.p.ldc = int32_t(q.c.ld);
    return t;
}

namespace {
// The block tile for one grouped call, by its problems' widest output (max_m × max_n), deepest
// reduction (max_k) and A's layout. Measured on an H100 (docs/performance.md, 2026-12-07): the
// 128 × 256 wgmma tile runs the expert GEMMs of the forward and input gradient at 290–375 TFLOP/s
// against 185–235 for the mma.sync 128 × 128 one, but its 161 KB ring leaves one block per SM, so a
// LoRA-rank reduction (K ≤ 64: one k-tile, the output read and written) or a weight-gradient
// layout (A not K-contiguous: 46 against 69) keeps the mma.sync tile; outputs one LoRA rank wide
// or high take the 128 × 32 / 32 × 128 tiles (the LoRA step 2.4% faster with them). The wide tile
// runs on the warp-specialised persistent body (variant 9): 287–358 TFLOP/s for variant 7 against
// 298–353 on the probe, and with its SwiGLU epilogue moonlight prefill 2048 took 34.7 ms against
// 38.3–38.9 (H100, docs/performance.md, 21:33). Off Hopper the wgmma variants run the mma.sync tile
// of their shape. MOE_GROUPED_TILE=0..3, 6–9 forces one wide tile and MOE_GROUPED_RANK_TILES=0
// turns the rank tiles off, for A/B runs.
int tile_variant(int64_t max_m, int64_t max_n, int64_t max_k, bool a_k_contig) {
    static const bool rank_tiles = env_int("MOE_GROUPED_RANK_TILES", 1) == 1;
    static const int forced = [] {
        const int x = env_int("MOE_GROUPED_TILE", -1);
        const bool known = (x >= 0 && x < kernels::kGroupedNarrowN) || kernels::grouped_gemm_is_wgmma(x);
        return known ? x : -1;
    }();
    if (rank_tiles && max_n <= 32) return kernels::kGroupedNarrowN;
    if (rank_tiles && max_m <= 32) return kernels::kGroupedShortM;
    if (forced >= 0) return forced;
    if (max_k <= 64 || !a_k_contig) return 0;
    return kernels::kGroupedWgmmaWsWide;
}

// `t` with expert e's problem of `second` as its second K segment, if the two fit together.
bool add_second(TileProblem& t, const GroupGemm& main, const GroupGemm& second, int64_t e, int64_t row0, int64_t rows) {
    if (second.alpha != main.alpha || second.beta != 1.0f || second.c_type != main.c_type) return false;
    const TileProblem s = tile_problem(second, e, row0, rows);
    if (s.a_k_contig != t.a_k_contig || s.b_k_contig != t.b_k_contig || s.p.c != t.p.c || s.p.m != t.p.m ||
        s.p.n != t.p.n || s.p.ldc != t.p.ldc)
        return false;
    t.p.a2 = s.p.a;
    t.p.b2 = s.p.b;
    t.p.k2 = s.p.k;
    t.p.lda2 = s.p.lda;
    t.p.ldb2 = s.p.ldb;
    return kernels::grouped_gemm_supported(t.p, t.a_k_contig, t.b_k_contig);
}
// One operand of every problem as a row-major tensor from `base` (kernels::GroupedOperandTensor):
// each problem's rows `rows_of` from its pointer `at_of` on, `cols_of` wide, `ld_of` apart. Unset
// when a problem's operand lies before `base`, off its rows, or with another width or ld.
template <class At, class Rows, class Cols, class Ld>
kernels::GroupedOperandTensor operand_tensor(const void* base, const std::vector<kernels::GroupedGemmProblem>& problems,
                                             At at_of, Rows rows_of, Cols cols_of, Ld ld_of) {
    kernels::GroupedOperandTensor t;
    t.base = base;
    bool first = true;
    for (const kernels::GroupedGemmProblem& p : problems) {
        if (p.m == 0 || p.n == 0) continue;  // no tiles: its pointers are never read
        const auto offset = static_cast<const unsigned char*>(at_of(p)) - static_cast<const unsigned char*>(base);
        const int64_t row_bytes = int64_t(ld_of(p)) * 2;
        if (first) {
            t.cols = cols_of(p);
            t.ld = ld_of(p);
            first = false;
        }
        if (offset < 0 || row_bytes == 0 || offset % row_bytes != 0 || cols_of(p) != t.cols || ld_of(p) != t.ld)
            return {};
        t.rows = std::max<int64_t>(t.rows, offset / row_bytes + rows_of(p));
    }
    if (t.rows >= (int64_t(1) << 31)) return {};  // the copies' row coordinates are 32-bit
    return t;
}

}  // namespace

OperandTensors operand_tensors(const GroupGemm& gemm, const GroupGemm* second,
                               const std::vector<kernels::GroupedGemmProblem>& problems, bool a_k_contig,
                               bool b_k_contig) {
    if (!a_k_contig) return {};
    using P = kernels::GroupedGemmProblem;
    const auto m = [](const P& p) { return p.m; };
    const auto k = [](const P& p) { return p.k; };
    const auto k2 = [](const P& p) { return p.k2; };
    const auto n = [](const P& p) { return p.n; };
    OperandTensors t;
    t.a = operand_tensor(gemm.b.base, problems, [](const P& p) { return p.a; }, m, k, [](const P& p) { return p.lda; });
    const auto ldb = [](const P& p) { return p.ldb; };
    const auto b_at = [](const P& p) { return p.b; };
    t.b = b_k_contig ? operand_tensor(gemm.a.base, problems, b_at, n, k, ldb)
                     : operand_tensor(gemm.a.base, problems, b_at, k, n, ldb);
    if (second) {
        t.a2 = operand_tensor(second->b.base, problems, [](const P& p) { return p.a2; }, m, k2,
                              [](const P& p) { return p.lda2; });
        const auto ldb2 = [](const P& p) { return p.ldb2; };
        const auto b2_at = [](const P& p) { return p.b2; };
        t.b2 = b_k_contig ? operand_tensor(second->a.base, problems, b2_at, n, k2, ldb2)
                          : operand_tensor(second->a.base, problems, b2_at, k2, n, ldb2);
        if (!t.a2.set() || !t.b2.set()) return {};
    }
    if (!t.a.set() || !t.b.set()) return {};
    return t;
}

void GroupedGemms::add_tiles(Entry& entry, Staging& staging, const GroupGemm* second) const {
    std::vector<kernels::GroupedGemmProblem> problems;
    int64_t max_m = 0, max_n = 0, max_k = 0;
    bool fuse = second != nullptr;
    for (int64_t e : g_.active) {
        const int64_t row0 = g_.offset[size_t(e)], rows = g_.count[size_t(e)];
        const TileProblem t = tile_problem(entry.gemm, e, row0, rows);
        if (!kernels::grouped_gemm_supported(t.p, t.a_k_contig, t.b_k_contig)) return;  // total_tiles stays -1
        TileProblem both = t;
        fuse = fuse && add_second(both, entry.gemm, *second, e, row0, rows);
        entry.a_k_contig = t.a_k_contig;
        entry.b_k_contig = t.b_k_contig;
        problems.push_back(both.p);
        max_m = std::max<int64_t>(max_m, t.p.m);
        max_n = std::max<int64_t>(max_n, t.p.n);
        max_k = std::max<int64_t>(max_k, t.p.k);
    }
    if (!fuse)  // one problem that does not take it: the caller runs `second` on its own, for every expert
        for (kernels::GroupedGemmProblem& p : problems) {
            p.a2 = p.b2 = nullptr;
            p.k2 = p.lda2 = p.ldb2 = 0;
        }
    entry.fused = fuse;
    const OperandTensors tensors =
        operand_tensors(entry.gemm, fuse ? second : nullptr, problems, entry.a_k_contig, entry.b_k_contig);
    entry.a_tensor = tensors.a;
    entry.b_tensor = tensors.b;
    entry.a2_tensor = tensors.a2;
    entry.b2_tensor = tensors.b2;
    entry.variant = entry.gemm.swiglu ? kernels::kGroupedWgmmaWsWide : tile_variant(max_m, max_n, max_k, entry.a_k_contig);
    std::vector<int32_t> tile_start{0};
    for (const kernels::GroupedGemmProblem& p : problems)
        tile_start.push_back(tile_start.back() + kernels::grouped_gemm_tiles(p.m, p.n, entry.variant));
    entry.problems = staging.add(problems);
    entry.tile_start = staging.add(tile_start);
    entry.total_tiles = tile_start.back();
}

void GroupedGemms::run_per_expert(cublasHandle_t h, const GroupGemm& q, const ExpertBucket& bucket, bool exact) const {
    for (int64_t e : bucket.experts) {
        const int64_t row0 = g_.offset[size_t(e)], rows = exact ? g_.count[size_t(e)] : bucket.rows;
        gemm_bf16(h, q.ta, q.tb, dim(q.m, rows), dim(q.n, rows), dim(q.k, rows), q.alpha, at(q.a, e, row0), q.a.ld,
                  at(q.b, e, row0), q.b.ld, q.beta, const_cast<void*>(at(q.c, e, row0)), q.c_type, q.c.ld);
    }
}

void GroupedGemms::run_grouped(cublasHandle_t h, const Entry& entry, const unsigned char* device_staging) const {
    const GroupGemm& q = entry.gemm;
    const ExpertBucket& bucket = g_.buckets.front();
    if (entry.batched.front()) {
        const size_t n = bucket.experts.size();
        const auto* table = reinterpret_cast<const void* const*>(device_staging + entry.tables.front());
        if (gemm_bf16_grouped(h, q.ta, q.tb, entry.m.data(), entry.n.data(), entry.k.data(), q.alpha, table, q.a.ld,
                              table + n, q.b.ld, q.beta, const_cast<void* const*>(table + 2 * n), q.c_type, q.c.ld,
                              int(n)))
            return;
    }
    run_per_expert(h, q, bucket, true);  // unaligned rows, or a type the grouped call does not take
}

void GroupedGemms::run_tiles(cublasHandle_t h, const Entry& entry, const unsigned char* device_staging) const {
    const GroupGemm& q = entry.gemm;
    kernels::GroupedGemmArgs args;
    args.problems = reinterpret_cast<const kernels::GroupedGemmProblem*>(device_staging + entry.problems);
    args.tile_start = reinterpret_cast<const int32_t*>(device_staging + entry.tile_start);
    args.count = int32_t(g_.active.size());
    args.total_tiles = entry.total_tiles;
    args.a_k_contig = entry.a_k_contig;
    args.b_k_contig = entry.b_k_contig;
    args.c_bf16 = q.c_type == CUDA_R_16BF;
    args.alpha = q.alpha;
    args.beta = q.beta;
    args.variant = entry.variant;
    args.swiglu = q.swiglu;
    args.a_tensor = entry.a_tensor;
    args.b_tensor = entry.b_tensor;
    args.a2_tensor = entry.a2_tensor;
    args.b2_tensor = entry.b2_tensor;
    cudaStream_t stream = nullptr;
    MOE_CUBLAS_CHECK(cublasGetStream(h, &stream));
    MOE_CUDA_CHECK(kernels::grouped_gemm_bf16(args, stream));
}

void GroupedGemms::run(cublasHandle_t h, int i, const unsigned char* device_staging) const {
    const Entry& entry = entries_.at(size_t(i));
    if (g_.tiles && entry.total_tiles >= 0) return run_tiles(h, entry, device_staging);
    if (g_.grouped) return run_grouped(h, entry, device_staging);
    const GroupGemm& q = entry.gemm;
    for (size_t b = 0; b < g_.buckets.size(); ++b) {
        const ExpertBucket& bucket = g_.buckets[b];
        const int64_t rows = bucket.rows;  // every expert of the bucket: its rows padded to the bucket's
        if (!entry.batched[b]) {
            run_per_expert(h, q, bucket, false);
            continue;
        }
        const int64_t n = int64_t(bucket.experts.size());
        const auto* table = reinterpret_cast<const void* const*>(device_staging + entry.tables[b]);
        gemm_bf16_pointers(h, q.ta, q.tb, dim(q.m, rows), dim(q.n, rows), dim(q.k, rows), q.alpha, table, q.a.ld,
                           table + n, q.b.ld, q.beta, const_cast<void* const*>(table + 2 * n), q.c_type, q.c.ld, n);
    }
}

}  // namespace moe::cuda
