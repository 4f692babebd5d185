#include "cuda/expert_groups.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "cuda/gemm.h"

namespace moe::cuda {

bool use_padded_slots(int64_t n_active, int64_t max_count, int64_t N, int64_t H, int64_t I) {
    const int64_t rows = n_active * max_count;
    if (rows > std::max<int64_t>(4 * N, 16384)) return false;
    const double flop_per_row = 6.0 * double(H) * double(I), rate = 5e14, launch_s = 7.5e-6;
    const double padded_s = double(rows) * flop_per_row / rate;
    const double exact_s = double(N) * flop_per_row / rate + 2.0 * double(n_active) * launch_s;
    return padded_s <= exact_s;
}

ExpertGroups group_by_expert(std::span<const int32_t> ids, int64_t T, int64_t K, int64_t E, int64_t H, int64_t I) {
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
    g.padded = use_padded_slots(int64_t(g.active.size()), g.max_count, g.N, H, I);
    g.offset.assign(size_t(E), 0);
    int64_t next = 0;
    for (int64_t e = 0; e < E; ++e) {
        g.offset[size_t(e)] = next;
        const int64_t c = g.count[size_t(e)];
        next += g.padded && c > 0 ? g.max_count : c;
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
    if (!bytes_.empty())
        MOE_CUDA_CHECK(cudaMemcpyAsync(dst->as<void>(), bytes_.data(), bytes_.size(), cudaMemcpyHostToDevice, ctx.stream()));
    return dst->as<const unsigned char>();
}

namespace {
const void* at(const GroupOperand& o, int64_t e, int64_t row0) {
    return static_cast<const unsigned char*>(o.base) + e * o.per_expert + row0 * o.per_row;
}
int64_t dim(int64_t d, int64_t rows) { return d == kGroupRows ? rows : d; }
}  // namespace

int GroupedGemms::add(const GroupGemm& gemm, Staging& staging) {
    Entry entry{gemm, 0};
    if (g_.padded && !g_.active.empty()) {
        const size_t n = g_.active.size();
        std::vector<const void*> table(3 * n);
        for (size_t i = 0; i < n; ++i) {
            const int64_t e = g_.active[i], row0 = g_.offset[size_t(e)];
            table[i] = at(gemm.a, e, row0);
            table[n + i] = at(gemm.b, e, row0);
            table[2 * n + i] = at(gemm.c, e, row0);
        }
        // cuBLAS cannot see the pointers of a batched call, so its kernels assume them aligned for
        // vector loads; odd widths (tests' expert width 5) give rows at 2-byte offsets. Such a GEMM
        // runs per expert instead, where cuBLAS checks each pointer.
        entry.batched = std::all_of(table.begin(), table.end(),
                                    [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; });
        if (entry.batched) entry.table = staging.add(table);
    }
    entries_.push_back(entry);
    return int(entries_.size()) - 1;
}

void GroupedGemms::run(cublasHandle_t h, int i, const unsigned char* device_staging) const {
    const GroupGemm& q = entries_.at(size_t(i)).gemm;
    if (g_.active.empty()) return;
    if (g_.padded && entries_[size_t(i)].batched) {
        const int64_t n = int64_t(g_.active.size()), rows = g_.max_count;
        const auto* table = reinterpret_cast<const void* const*>(device_staging + entries_[size_t(i)].table);
        gemm_bf16_pointers(h, q.ta, q.tb, dim(q.m, rows), dim(q.n, rows), dim(q.k, rows), q.alpha, table, q.a.ld,
                           table + n, q.b.ld, q.beta, const_cast<void* const*>(table + 2 * n), q.c_type, q.c.ld, n);
        return;
    }
    for (int64_t e : g_.active) {
        // padded slots: every group is max_count rows long, as the batched call would run it
        const int64_t rows = g_.padded ? g_.max_count : g_.count[size_t(e)], row0 = g_.offset[size_t(e)];
        gemm_bf16(h, q.ta, q.tb, dim(q.m, rows), dim(q.n, rows), dim(q.k, rows), q.alpha, at(q.a, e, row0), q.a.ld,
                  at(q.b, e, row0), q.b.ld, q.beta, const_cast<void*>(at(q.c, e, row0)), q.c_type, q.c.ld);
    }
}

}  // namespace moe::cuda
