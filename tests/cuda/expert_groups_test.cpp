// The expert buckets of the grouped GEMMs (engine/cuda/expert_groups.h): host logic, runs without
// a GPU. Every active expert in exactly one bucket, none inactive; padded rows within the bucket
// ratio; the row maps consistent (every slot's row holds that slot, padding rows hold none).
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <set>

#include "cuda/expert_groups.h"

namespace moe::cuda {
namespace {

void expect_consistent(const ExpertGroups& g, std::span<const int32_t> ids) {
    std::set<int64_t> seen;
    for (const ExpertBucket& b : g.buckets)
        for (int64_t e : b.experts) {
            EXPECT_TRUE(seen.insert(e).second) << "expert " << e << " in two buckets";
            EXPECT_GT(g.count[size_t(e)], 0) << "inactive expert " << e << " in a bucket";
            if (!g.grouped) {
                EXPECT_LE(g.count[size_t(e)], b.rows) << "expert " << e << " has more rows than its bucket";
            }
        }
    EXPECT_EQ(seen.size(), g.active.size());
    int64_t real = 0;
    for (int64_t slot = 0; slot < g.N; ++slot) {
        const int32_t row = g.row_of_slot[size_t(slot)];
        ASSERT_GE(row, 0);
        EXPECT_EQ(g.slot_of_row[size_t(row)], slot);
        EXPECT_EQ(g.token_of[size_t(row)], slot / g.K);
        const int64_t e = ids[size_t(slot)];
        EXPECT_GE(row, g.offset[size_t(e)]);
        EXPECT_LT(row, g.offset[size_t(e)] + g.count[size_t(e)]);  // an expert's real rows come first
        ++real;
    }
    int64_t padding = 0;
    for (int64_t r = 0; r < g.P; ++r) padding += g.slot_of_row[size_t(r)] < 0;
    EXPECT_EQ(real + padding, g.P);
}

TEST(ExpertBuckets, EvenRoutingIsOnePaddedBucket) {
    std::mt19937 rng(1);
    const int64_t T = 2048, K = 6, E = 64;
    std::vector<int32_t> ids(size_t(T * K));
    for (auto& id : ids) id = int32_t(rng() % E);
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32, ExpertGemmMode::kBuckets);
    EXPECT_EQ(g.buckets.size(), 1u);
    EXPECT_EQ(g.buckets[0].rows, g.max_count);
    EXPECT_LE(double(g.P), 1.5 * double(g.N));  // counts ~192 ± 14: within the first ratios
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, UnevenRoutingNeedsFewLaunchesAndLittlePadding) {
    // Three experts take every token, the others a handful (a random model's routing).
    const int64_t T = 600, K = 4, E = 32;
    std::vector<int32_t> ids;
    std::mt19937 rng(2);
    for (int64_t t = 0; t < T; ++t) {
        ids.push_back(0);
        ids.push_back(1);
        ids.push_back(2);
        ids.push_back(int32_t(3 + rng() % (E - 3)));
    }
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32, ExpertGemmMode::kBuckets);
    EXPECT_LE(g.buckets.size(), size_t(kMaxBuckets));
    EXPECT_GE(g.buckets.size(), 2u);                // the hot experts are not padded with the rest ...
    EXPECT_LE(double(g.P), 1.5 * double(g.N));      // ... so padding stays small
    EXPECT_EQ(g.buckets[0].rows, T);
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, CountsSpreadOverDecadesStayWithinEightBuckets) {
    std::vector<int64_t> count;
    for (int64_t e = 0; e < 64; ++e) count.push_back(e % 7 == 0 ? 0 : (int64_t(1) << (e % 12)));
    const std::vector<ExpertBucket> b = bucket_experts(count);
    ASSERT_LE(b.size(), size_t(kMaxBuckets));
    int64_t real = 0, padded = 0;
    for (const ExpertBucket& x : b)
        for (int64_t e : x.experts) {
            real += count[size_t(e)];
            padded += x.rows;
        }
    EXPECT_EQ(real, std::accumulate(count.begin(), count.end(), int64_t(0)));
    EXPECT_LE(double(padded), 4.0 * double(real));  // the ratio that fits 2^0 .. 2^11 in 8 buckets
}

TEST(ExpertBuckets, GroupedModeRunsExactRowsWithoutPadding) {
    const int64_t T = 600, K = 4, E = 32;
    std::vector<int32_t> ids;
    std::mt19937 rng(3);
    for (int64_t t = 0; t < T * K; ++t) ids.push_back(int32_t(t % 3 == 0 ? 0 : rng() % E));
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32, ExpertGemmMode::kGrouped);
    EXPECT_TRUE(g.grouped);
    ASSERT_EQ(g.buckets.size(), 1u);
    EXPECT_EQ(g.buckets[0].experts, g.active);
    EXPECT_EQ(g.P, g.N);  // no padding row
    int64_t next = 0;
    for (int64_t e : g.active) {  // packed in expert order
        EXPECT_EQ(g.offset[size_t(e)], next);
        next += g.count[size_t(e)];
    }
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, AutoModePadsEvenRoutingAndTilesTheRest) {
    const int64_t T = 2048, K = 6, E = 64;
    std::mt19937 rng(4);
    std::vector<int32_t> even(size_t(T * K)), skewed;
    for (auto& id : even) id = int32_t(rng() % E);
    for (int64_t t = 0; t < T; ++t)  // two experts take every token (a random model's routing)
        for (int64_t k = 0; k < K; ++k) skewed.push_back(int32_t(k < 2 ? k : 2 + (t * K + k) % (E - 2)));
    const ExpertGroups e = group_by_expert(even, T, K, E, 64, 32, ExpertGemmMode::kAuto);
    EXPECT_FALSE(e.grouped);  // one padded cuBLAS call
    ASSERT_EQ(e.buckets.size(), 1u);
    EXPECT_LE(double(e.P), kAutoPaddedRatio * double(e.N));
    expect_consistent(e, even);
    const ExpertGroups s = group_by_expert(skewed, T, K, E, 64, 32, ExpertGemmMode::kAuto);
    EXPECT_TRUE(s.grouped);
    EXPECT_TRUE(s.tiles);
    EXPECT_EQ(s.P, s.N);
    expect_consistent(s, skewed);
}

// ---- the grouped kernel's view of a GroupGemm (tile_problem), checked on host floats --------------

// cuBLAS's column-major semantics of `q` for expert e (rows from row0): C_cm = alpha op(A) op(B) + beta C_cm.
void cublas_semantics(const GroupGemm& q, int64_t e, int64_t row0, int64_t rows) {
    auto ptr = [&](const GroupOperand& o) {
        return reinterpret_cast<float*>(const_cast<unsigned char*>(static_cast<const unsigned char*>(o.base)) +
                                        e * o.per_expert + row0 * o.per_row);
    };
    auto d = [&](int64_t x) { return x == kGroupRows ? rows : x; };
    const float *A = ptr(q.a), *B = ptr(q.b);
    float* C = ptr(q.c);
    const int64_t m = d(q.m), n = d(q.n), k = d(q.k);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t l = 0; l < k; ++l) {
                const double a = q.ta == CUBLAS_OP_N ? A[i + l * q.a.ld] : A[l + i * q.a.ld];
                const double b = q.tb == CUBLAS_OP_N ? B[l + j * q.b.ld] : B[j + l * q.b.ld];
                s += a * b;
            }
            C[i + j * q.c.ld] = float(q.alpha * s + q.beta * C[i + j * q.c.ld]);
        }
}

// The grouped kernel's row-major semantics of one problem (grouped_gemm.h).
void tile_semantics(const TileProblem& t, float alpha, float beta) {
    const auto* A = static_cast<const float*>(t.p.a);
    const auto* B = static_cast<const float*>(t.p.b);
    auto* C = static_cast<float*>(t.p.c);
    for (int r = 0; r < t.p.m; ++r)
        for (int c = 0; c < t.p.n; ++c) {
            double s = 0;
            for (int k = 0; k < t.p.k; ++k) {
                const double a = t.a_k_contig ? A[r * t.p.lda + k] : A[k * t.p.lda + r];
                const double b = t.b_k_contig ? B[c * t.p.ldb + k] : B[k * t.p.ldb + c];
                s += a * b;
            }
            C[r * t.p.ldc + c] = float(alpha * s + beta * C[r * t.p.ldc + c]);
        }
}

// Every GEMM kind the routed experts' training step registers (cuda_moe.cpp), as cuBLAS reads it
// and as the grouped kernel reads its tile_problem: the same numbers land in C (4-byte floats stand
// in for bf16: the mapping is about offsets, strides and transposes).
TEST(ExpertTiles, TheKernelsViewOfEveryExpertGemmIsCublass) {
    const int64_t E = 3, H = 6, I = 4, R = 4, P = 9, e = 1, row0 = 2, rows = 5;
    std::mt19937 rng(5);
    auto fill = [&](int64_t n) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) x = float(int(rng() % 17) - 8) / 4.0f;
        return v;
    };
    std::vector<float> w_gu = fill(E * 2 * I * H), x = fill(P * H), gu = fill(P * 2 * I), dgu = fill(P * 2 * I),
                       dx = fill(P * H), g_gate = fill(E * I * H), lora_b = fill(E * H * R), dy = fill(P * H),
                       dz = fill(P * R);
    auto rows_op = [](std::vector<float>& v, int64_t width) { return GroupOperand{v.data(), 0, width * 4, width}; };
    auto expert_op = [](std::vector<float>& v, int64_t per, int64_t ld) { return GroupOperand{v.data(), per * 4, 0, ld}; };
    const std::vector<std::pair<const char*, GroupGemm>> gemms = {
        {"forward gate/up", {CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, kGroupRows, H, 1.0f, 0.0f, expert_op(w_gu, 2 * I * H, H),
                             rows_op(x, H), rows_op(gu, 2 * I)}},
        {"input gradient", {CUBLAS_OP_N, CUBLAS_OP_N, H, kGroupRows, 2 * I, 1.0f, 0.0f, expert_op(w_gu, 2 * I * H, H),
                            rows_op(dgu, 2 * I), rows_op(dx, H)}},
        {"weight gradient", {CUBLAS_OP_N, CUBLAS_OP_T, H, I, kGroupRows, 1.0f, 1.0f, rows_op(x, H), rows_op(dgu, 2 * I),
                             expert_op(g_gate, I * H, H)}},
        {"LoRA rank gradient", {CUBLAS_OP_N, CUBLAS_OP_N, R, kGroupRows, H, 0.5f, 0.0f, expert_op(lora_b, H * R, R),
                                rows_op(dy, H), rows_op(dz, R)}},
    };
    for (const auto& [name, q] : gemms) {
        auto* c = static_cast<float*>(const_cast<void*>(q.c.base));
        const size_t c_elems = q.c.per_expert ? size_t(E * q.c.per_expert / 4) : size_t(P * q.c.ld);
        const std::vector<float> before(c, c + c_elems);
        cublas_semantics(q, e, row0, rows);
        const std::vector<float> want(c, c + c_elems);
        std::copy(before.begin(), before.end(), c);
        tile_semantics(tile_problem(q, e, row0, rows), q.alpha, q.beta);
        const std::vector<float> got(c, c + c_elems);
        EXPECT_EQ(got, want) << name;
        EXPECT_NE(want, before) << name << ": the GEMM wrote nothing (a vacuous comparison)";
    }
}

// The tensors the TMA copies read (operand_tensors): every expert's rows of each operand inside
// one row-major tensor, found from the problems' pointers — the gathered rows, the stacked experts,
// the gate/up halves whose weights start I rows into each stack, the input gradient's N-contiguous
// weights; none for the weight gradient (A not K-contiguous) or when one problem breaks the pattern.
TEST(ExpertTiles, OperandTensorsSpanEveryExpertsRows) {
    const int64_t H = 16, I = 8, R = 8, P = 12;
    std::vector<uint16_t> w_gu(size_t(3 * 2 * I * H)), x(size_t(P * H)), gu(size_t(P * 2 * I)), z(size_t(P * R)),
        lora_b(size_t(3 * I * R));
    const auto rows_op = [](std::vector<uint16_t>& v, int64_t width) { return GroupOperand{v.data(), 0, width * 2, width}; };
    const auto expert_op = [](std::vector<uint16_t>& v, int64_t per, int64_t ld) {
        return GroupOperand{v.data(), per * 2, 0, ld};
    };
    const std::vector<std::pair<int64_t, int64_t>> experts = {{0, 3}, {2, 5}, {1, 0}};  // (expert, rows); rows in order
    auto problems_of = [&](const GroupGemm& q, const GroupGemm* second) {
        std::vector<kernels::GroupedGemmProblem> out;
        int64_t row0 = 0;
        for (const auto& [e, rows] : experts) {
            TileProblem t = tile_problem(q, e, row0, rows);
            if (second) {
                const TileProblem s2 = tile_problem(*second, e, row0, rows);
                t.p.a2 = s2.p.a, t.p.b2 = s2.p.b, t.p.k2 = s2.p.k, t.p.lda2 = s2.p.lda, t.p.ldb2 = s2.p.ldb;
            }
            out.push_back(t.p);
            row0 += rows;
        }
        return out;
    };
    // Forward gate/up: A = the gathered rows [8, H], B = the stacked [3 · 2I, H] weights (expert 2 the last).
    const GroupGemm fwd{CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, kGroupRows, H, 1.0f, 0.0f, expert_op(w_gu, 2 * I * H, H),
                        rows_op(x, H), rows_op(gu, 2 * I), CUDA_R_16BF};
    OperandTensors t = operand_tensors(fwd, nullptr, problems_of(fwd, nullptr), true, true);
    ASSERT_TRUE(t.a.set() && t.b.set());
    EXPECT_EQ(t.a.base, x.data());
    EXPECT_EQ(t.a.rows, 8);
    EXPECT_EQ(t.a.cols, H);
    EXPECT_EQ(t.a.ld, H);
    EXPECT_EQ(t.b.base, w_gu.data());
    EXPECT_EQ(t.b.rows, 3 * 2 * I);
    EXPECT_EQ(t.b.cols, H);
    EXPECT_FALSE(t.a2.set());
    // The up half with its LoRA term riding on it: B starts I rows into the stack, rows every 2I.
    GroupOperand up_half = expert_op(w_gu, 2 * I * H, H);
    up_half.base = w_gu.data() + I * H;
    const GroupGemm half{CUBLAS_OP_T, CUBLAS_OP_N, I, kGroupRows, H, 1.0f, 0.0f, up_half, rows_op(x, H),
                         rows_op(gu, 2 * I), CUDA_R_32F};
    const GroupGemm lora{CUBLAS_OP_T, CUBLAS_OP_N, I, kGroupRows, R, 1.0f, 1.0f, expert_op(lora_b, I * R, R),
                         rows_op(z, R), rows_op(gu, 2 * I), CUDA_R_32F};
    t = operand_tensors(half, &lora, problems_of(half, &lora), true, true);
    ASSERT_TRUE(t.a.set() && t.b.set() && t.a2.set() && t.b2.set());
    EXPECT_EQ(t.b.base, w_gu.data() + I * H);
    EXPECT_EQ(t.b.rows, 2 * 2 * I + I);  // expert 2's up rows end there
    EXPECT_EQ(t.a2.base, z.data());
    EXPECT_EQ(t.a2.cols, R);
    EXPECT_EQ(t.b2.rows, 3 * I);
    // Input gradient: B = the weights N-contiguous, rows k = 2I per expert, columns n = H.
    const GroupGemm dx{CUBLAS_OP_N, CUBLAS_OP_N, H, kGroupRows, 2 * I, 1.0f, 0.0f, expert_op(w_gu, 2 * I * H, H),
                       rows_op(gu, 2 * I), rows_op(x, H), CUDA_R_32F};
    t = operand_tensors(dx, nullptr, problems_of(dx, nullptr), true, false);
    ASSERT_TRUE(t.b.set());
    EXPECT_EQ(t.b.rows, 3 * 2 * I);
    EXPECT_EQ(t.b.cols, H);
    EXPECT_EQ(t.a.cols, 2 * I);
    // Weight gradient (A not K-contiguous): none.
    EXPECT_FALSE(operand_tensors(fwd, nullptr, problems_of(fwd, nullptr), false, true).a.set());
    // One problem with another ld, or off its rows: none at all.
    auto broken = problems_of(fwd, nullptr);
    broken[1].lda += 8;
    EXPECT_FALSE(operand_tensors(fwd, nullptr, broken, true, true).a.set());
    broken = problems_of(fwd, nullptr);
    broken[1].a = static_cast<const unsigned char*>(broken[1].a) + 2;
    t = operand_tensors(fwd, nullptr, broken, true, true);
    EXPECT_FALSE(t.a.set() || t.b.set());
}

TEST(ExpertBuckets, NoTokensNoBuckets) {
    const ExpertGroups g = group_by_expert({}, 0, 2, 8, 64, 32);
    EXPECT_TRUE(g.buckets.empty());
    EXPECT_EQ(g.P, 0);
}

}  // namespace
}  // namespace moe::cuda
