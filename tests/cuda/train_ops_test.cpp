// The training ops on CUDA against the CPU reference.
//
// OpTable: every case of the op table (tests/train/op_table.cpp; the CPU checks each backward there
// by finite differences) runs forward and backward on both backends with the same inputs and the
// same output gradients; every forward output and every gradient must agree within the case's
// cuda_nmse, and no kernel may write outside its tensors (debug guards, checked after each op).
// Then what the table does not cover: realistic shapes (MLA attention of Moonlight's width, GQA
// across several query blocks, cross-entropy over a vocabulary, routed experts with LoRA and
// dropout on both grouping paths, their forward's rows kept for the backward or recomputed), the
// optimiser, weights made from F32 masters and refreshed
// after the master changes, expert counts, an expert without tokens, and device-side index checks.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "cuda_test_util.h"
#include "op_table.h"

namespace moe::test {
namespace {

// ---- the op table ----------------------------------------------------------------------------------

class CudaOpTable : public CudaTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(CudaOpTable, ForwardAndBackwardMatchCpu) {
    const OpCase& c = op_table()[GetParam()];
    const OpInstance in = c.make(seed);
    const OpOutputs y_cpu = c.forward(cpu, in);
    const OpOutputs y_gpu = c.forward(*gpu, in);
    EXPECT_EQ(gpu->damaged_guards(), 0) << c.name << " forward";
    ASSERT_EQ(y_gpu.size(), y_cpu.size()) << c.name;
    for (size_t i = 0; i < y_cpu.size(); ++i)
        EXPECT_TRUE(close(y_gpu[i], y_cpu[i], c.cuda_nmse)) << c.name << " forward output " << i;

    // Output gradients: uniform in [-1, 1), zero for discrete outputs (expert ids), as op_grad_test.
    std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    OpOutputs d = y_cpu;
    for (size_t i = 0; i < d.size(); ++i) {
        const bool discrete = std::count(c.discrete_outputs.begin(), c.discrete_outputs.end(), i) > 0;
        for (float& v : d[i]) v = discrete ? 0.0f : dist(rng);
    }
    const OpOutputs g_cpu = c.backward(cpu, in, d);
    const OpOutputs g_gpu = c.backward(*gpu, in, d);
    EXPECT_EQ(gpu->damaged_guards(), 0) << c.name << " backward";
    ASSERT_EQ(g_gpu.size(), g_cpu.size()) << c.name;
    size_t g = 0;
    for (const OpTensor& t : in.inputs) {
        if (!t.differentiable) continue;
        ASSERT_LT(g, g_cpu.size()) << c.name;
        EXPECT_TRUE(close(g_gpu[g], g_cpu[g], c.cuda_nmse)) << c.name << " d" << t.name;
        ++g;
    }
    for (; g < g_cpu.size(); ++g)  // gradients beyond the inputs' (none today): compared all the same
        EXPECT_TRUE(close(g_gpu[g], g_cpu[g], c.cuda_nmse)) << c.name << " gradient " << g;
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) { return op_table()[info.param].name; }

INSTANTIATE_TEST_SUITE_P(OpTable, CudaOpTable, ::testing::Range<size_t>(0, op_table().size()), case_name);

// ---- realistic attention ------------------------------------------------------------------------

using CudaTrainOps = CudaTest;

// Training paths chain several bf16 roundings (attention: the inputs, P, dO and dS; routed experts:
// x, w·dy, the SwiGLU rows, [dg|du], the LoRA products): an emulation of exactly those roundings at
// these shapes gave NMSE ~1.5e-5 for dq/dk and the LoRA gradients, so kNmseBf16 (one rounding) is too
// tight. A wrong mask, index or transposition gives NMSE >= 1e-2.
constexpr double kNmseTrainBf16 = 1e-4;

// Attention forward (out, lse) and backward (dq, dk, dv) on both backends for random inputs.
void compare_attention(CpuBackend& cpu, CudaBackend& gpu, const AttentionDims& d, const std::vector<int32_t>& seg_start,
                       uint64_t seed) {
    const int64_t T = int64_t(seg_start.size());
    const auto q = random_f32(size_t(T * d.n_heads * d.qk_dim), seed + 1);
    const auto k = random_f32(size_t(T * d.n_kv_heads * d.qk_dim), seed + 2);
    const auto v = random_f32(size_t(T * d.n_kv_heads * d.v_dim), seed + 3);
    const auto dout = random_f32(size_t(T * d.n_heads * d.v_dim), seed + 4);
    auto run = [&](Backend& b) {
        const Tensor tq = b.upload(q, T, d.n_heads * d.qk_dim), tk = b.upload(k, T, d.n_kv_heads * d.qk_dim);
        const Tensor tv = b.upload(v, T, d.n_kv_heads * d.v_dim), ss = b.upload_i32(seg_start, T, 1);
        const AttentionSaved s = b.attention_train(tq, tk, tv, ss, d);
        const AttentionGrads g = b.attention_train_backward(tq, tk, tv, s, b.upload(dout, T, d.n_heads * d.v_dim), ss, d);
        return std::vector<std::vector<float>>{b.download(s.out), b.download(s.lse), b.download(g.dq),
                                               b.download(g.dk), b.download(g.dv)};
    };
    const auto r = run(cpu), g = run(gpu);
    const char* names[] = {"out", "lse", "dq", "dk", "dv"};
    for (size_t i = 0; i < r.size(); ++i) EXPECT_TRUE(close(g[i], r[i], kNmseTrainBf16)) << names[i];
}

// Moonlight's MLA attention in its expanded form: 16 heads, q/k 192, v 128, three packed segments.
TEST_F(CudaTrainOps, MlaAttentionAtMoonlightWidthMatchesCpu) {
    const int64_t T = 512;
    std::vector<int32_t> seg(static_cast<size_t>(T));
    for (int64_t r = 0; r < T; ++r) seg[size_t(r)] = r < 200 ? 0 : (r < 371 ? 200 : 371);
    compare_attention(cpu, *gpu, AttentionDims{16, 16, 192, 128, 0.0721688f}, seg, seed);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// GQA over 1100 rows: three query blocks of 512, a segment that crosses a block boundary and two
// sequences of a batch (the second block's keys start at its earliest segment start).
TEST_F(CudaTrainOps, GqaAttentionAcrossQueryBlocksMatchesCpu) {
    const int64_t T = 1100;
    std::vector<int32_t> seg(static_cast<size_t>(T));
    for (int64_t r = 0; r < T; ++r) seg[size_t(r)] = r < 300 ? 0 : (r < 700 ? 300 : (r < 800 ? 700 : 800));
    compare_attention(cpu, *gpu, AttentionDims{8, 2, 64, 64, 0.125f}, seg, seed);
    // One long segment: every block attends to all the rows before it.
    std::fill(seg.begin(), seg.end(), 0);
    compare_attention(cpu, *gpu, AttentionDims{4, 4, 32, 48, 0.17f}, seg, seed + 10);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// Every head width the flash kernels are built for (attention_flash_tc.cu; 192/128 and 64/64
// above), with rows that end mid-tile: 300 rows in two sequences, and 37 rows (one partial tile).
// The widths they are not built for (32/48 above) take the cuBLAS form.
TEST_F(CudaTrainOps, FlashAttentionWidthsMatchCpu) {
    std::vector<int32_t> seg(300);
    for (int64_t r = 0; r < 300; ++r) seg[size_t(r)] = r < 131 ? 0 : 131;
    compare_attention(cpu, *gpu, AttentionDims{4, 4, 128, 128, 0.088f}, seg, seed);
    compare_attention(cpu, *gpu, AttentionDims{6, 3, 96, 64, 0.102f}, seg, seed + 20);
    compare_attention(cpu, *gpu, AttentionDims{3, 3, 192, 128, 0.0721688f}, std::vector<int32_t>(37, 0), seed + 30);
    compare_attention(cpu, *gpu, AttentionDims{2, 1, 64, 64, 0.125f}, std::vector<int32_t>(37, 0), seed + 40);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// Key tiles that every query row of a block sees whole take the forward's and backward's unmasked
// path (attention_flash_tc.cu): one long segment (448 rows: three full 128-row blocks and a half
// one), and a segment that starts on a tile boundary (192), where a block's later rows see whole
// tiles of their own segment only.
TEST_F(CudaTrainOps, FlashAttentionInteriorTilesMatchCpu) {
    compare_attention(cpu, *gpu, AttentionDims{4, 4, 192, 128, 0.0721688f}, std::vector<int32_t>(448, 0), seed);
    std::vector<int32_t> seg(512);
    for (int64_t r = 0; r < 512; ++r) seg[size_t(r)] = r < 192 ? 0 : 192;
    compare_attention(cpu, *gpu, AttentionDims{4, 2, 128, 128, 0.088f}, seg, seed + 10);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

TEST_F(CudaTrainOps, AttentionRejectsBadSegmentStarts) {
    const AttentionDims d{2, 2, 8, 8, 0.3f};
    const Tensor q = gpu->alloc(3, 16), k = gpu->alloc(3, 16), v = gpu->alloc(3, 16);
    EXPECT_THROW(gpu->attention_train(q, k, v, gpu->upload_i32(std::vector<int32_t>{0, 2, 0}, 3, 1), d), std::exception);
}

// ---- losses -------------------------------------------------------------------------------------------

TEST_F(CudaTrainOps, CrossEntropyOverAVocabularyMatchesCpu) {
    const int64_t T = 48, V = 32000;
    std::vector<int32_t> targets(static_cast<size_t>(T));
    std::mt19937_64 rng(seed);
    for (int32_t& t : targets) t = int32_t(rng() % V);
    targets[3] = -1;
    targets[17] = -1;
    const auto logits = random_f32(size_t(T * V), seed + 1, -6.0f, 6.0f);
    const CrossEntropyResult r = cpu.cross_entropy(cpu.upload(logits, T, V), cpu.upload_i32(targets, T, 1), 0.37f);
    const CrossEntropyResult g = gpu->cross_entropy(gpu->upload(logits, T, V), gpu->upload_i32(targets, T, 1), 0.37f);
    EXPECT_EQ(g.n_valid, r.n_valid);
    EXPECT_NEAR(g.loss_sum, r.loss_sum, 1e-5 * std::abs(r.loss_sum));
    EXPECT_TRUE(close(gpu->download(g.d_logits), cpu.download(r.d_logits), kNmseF32));
    targets[5] = int32_t(V);
    EXPECT_THROW(gpu->cross_entropy(gpu->upload(logits, T, V), gpu->upload_i32(targets, T, 1), 1.0f), std::exception);
}

// ---- optimiser -----------------------------------------------------------------------------------------

TEST_F(CudaTrainOps, SumSquaresMatchesCpu) {
    for (int64_t n : {int64_t(1), int64_t(1000), int64_t(3) << 20}) {
        const auto x = random_f32(size_t(n), seed + uint64_t(n), -3.0f, 3.0f);
        const double r = cpu.sum_squares(cpu.upload(x, 1, n)), g = gpu->sum_squares(gpu->upload(x, 1, n));
        // Both sum exact f64 squares in different orders: each is within (n-1)·eps·Σ of the exact sum
        // (recursive summation bound; at n = 3M the CPU's running sum drifts ~1.4e-12 relative).
        const double bound = 2.0 * double(n) * std::numeric_limits<double>::epsilon() * r;
        EXPECT_NEAR(g, r, bound) << "n " << n;
    }
    EXPECT_EQ(gpu->sum_squares(gpu->alloc(0, 5)), 0.0);
}

TEST_F(CudaTrainOps, AdamWMatchesCpu) {
    const int64_t R = 300, C = 257;
    const size_t n = size_t(R * C);
    auto p = random_f32(n, seed, -1.0f, 1.0f), m = random_f32(n, seed + 1, -0.01f, 0.01f);
    auto v = random_f32(n, seed + 2, 0.0f, 1e-4f);
    const auto g = random_f32(n, seed + 3, -0.1f, 0.1f);
    Tensor cp = cpu.upload(p, R, C), cm = cpu.upload(m, R, C), cv = cpu.upload(v, R, C);
    Tensor gp = gpu->upload(p, R, C), gm = gpu->upload(m, R, C), gv = gpu->upload(v, R, C);
    const Tensor cg = cpu.upload(g, R, C), gg = gpu->upload(g, R, C);
    AdamWStep step;
    step.lr = 3e-4f;
    step.weight_decay = 0.1f;
    step.grad_scale = 0.61f;
    for (int64_t t = 1; t <= 3; ++t) {
        step.step = t;
        cpu.adamw_update(cp, cg, cm, cv, step);
        gpu->adamw_update(gp, gg, gm, gv, step);
    }
    EXPECT_TRUE(close(gpu->download(gp), cpu.download(cp), 1e-12)) << "params";
    EXPECT_TRUE(close(gpu->download(gm), cpu.download(cm), 1e-12)) << "exp_avg";
    EXPECT_TRUE(close(gpu->download(gv), cpu.download(cv), 1e-12)) << "exp_avg_sq";
    step.step = 0;
    EXPECT_THROW(gpu->adamw_update(gp, gg, gm, gv, step), std::exception);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// The multi-tensor ops a training step uses (one launch for every parameter): adamw_update_many
// gives each tensor exactly what adamw_update gives it (the same element operations; tensors of
// 1 element, of a chunk and a bit, and empty; two weight decays), zero_many zeroes every element,
// sum_squares_many is the sum of the tensors' sums within the f64 summation bound.
TEST_F(CudaTrainOps, ManyTensorOptimiserOpsMatchOneAtATime) {
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1}, {257, 300}, {0, 8}, {3, 40000}, {16, 2048}};
    AdamWStep step;
    step.lr = 2e-3f;
    step.grad_scale = 0.7f;
    std::vector<Tensor> one[4], many[4];  // p, g, m, v
    std::vector<AdamWParam> params;
    std::vector<const Tensor*> grads;
    uint64_t s = seed;
    for (const auto& [R, C] : shapes) {
        const size_t n = size_t(R * C);
        const auto p = random_f32(n, ++s, -1.0f, 1.0f), g = random_f32(n, ++s, -0.1f, 0.1f);
        const auto m = random_f32(n, ++s, -0.01f, 0.01f), v = random_f32(n, ++s, 0.0f, 1e-4f);
        const std::vector<float>* init[4] = {&p, &g, &m, &v};
        for (int k = 0; k < 4; ++k) {
            one[k].push_back(gpu->upload(*init[k], R, C));
            many[k].push_back(gpu->upload(*init[k], R, C));
        }
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
        params.push_back({&many[0][i], &many[1][i], &many[2][i], &many[3][i], i % 2 ? 0.1f : 0.0f});
        grads.push_back(&many[1][i]);
    }
    for (int64_t t = 1; t <= 2; ++t) {
        step.step = t;
        gpu->adamw_update_many(params, step);
        for (size_t i = 0; i < shapes.size(); ++i) {
            AdamWStep each = step;
            each.weight_decay = params[i].weight_decay;
            gpu->adamw_update(one[0][i], one[1][i], one[2][i], one[3][i], each);
        }
    }
    for (size_t i = 0; i < shapes.size(); ++i)
        for (int k : {0, 2, 3})
            EXPECT_EQ(gpu->download(many[k][i]), gpu->download(one[k][i])) << "tensor " << i << " array " << k;
    double each = 0.0, total = 0.0;
    for (const Tensor* g : grads) {
        const double x = gpu->sum_squares(*g);
        each += x;
        total += x;
    }
    const double got = gpu->sum_squares_many(grads);
    EXPECT_NEAR(got, each, 2.0 * 200000.0 * std::numeric_limits<double>::epsilon() * total);
    std::vector<Tensor*> zeroed;
    for (Tensor& g : many[1]) zeroed.push_back(&g);
    gpu->zero_many(zeroed);
    for (const Tensor& g : many[1])
        for (float x : gpu->download(g)) ASSERT_EQ(x, 0.0f);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// ---- weights from F32 masters -----------------------------------------------------------------------

// linear() through a weight made from a master: the GEMV path (f32 activations) is exact up to
// summation order for bf16-exact masters, the GEMM path rounds x to bf16.
void expect_linear_matches(CpuBackend& cpu, CudaBackend& gpu, const Weight& cw, const Weight& gw, int64_t in,
                           uint64_t seed, const char* what) {
    for (int64_t T : {int64_t(3), int64_t(40)}) {
        const auto x = random_f32(size_t(T * in), seed + uint64_t(T));
        EXPECT_TRUE(close(gpu.download(gpu.linear(gpu.upload(x, T, in), gw)), cpu.download(cpu.linear(cpu.upload(x, T, in), cw)),
                          T <= 8 ? kNmseF32 : kNmseBf16))
            << what << ", T " << T;
    }
}

// Multiples of 1/64 below 1 in magnitude: they and their pairwise sums are exact in bf16.
std::vector<float> sixty_fourths(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<float> v(n);
    for (float& x : v) x = float(int(rng() % 127) - 63) / 64.0f;
    return v;
}

TEST_F(CudaTrainOps, WeightFromTensorFollowsItsMasterAfterRefresh) {
    const int64_t R = 96, C = 160;
    const auto w0 = sixty_fourths(size_t(R * C), seed);
    const auto delta = sixty_fourths(size_t(R * C), seed + 1);
    Tensor cm = cpu.upload(w0, R, C), gm = gpu->upload(w0, R, C);
    const Weight cw = cpu.weight_from_tensor(cm), gw = gpu->weight_from_tensor(gm);
    EXPECT_EQ(gw.rows(), R);
    EXPECT_EQ(gw.cols(), C);
    expect_linear_matches(cpu, *gpu, cw, gw, C, seed + 2, "fresh weight");
    // The optimiser changes the master in place (w0 + delta is bf16-exact again).
    cpu.scale_add(cm, cpu.upload(delta, R, C), 1.0f);
    gpu->scale_add(gm, gpu->upload(delta, R, C), 1.0f);
    gpu->refresh_weight(gw, gm);
    cpu.refresh_weight(cw, cm);
    expect_linear_matches(cpu, *gpu, cw, gw, C, seed + 3, "refreshed weight");
    EXPECT_THROW(gpu->refresh_weight(gw, gpu->upload(w0, R, C)), std::exception) << "another master";
    EXPECT_THROW(gpu->weight_from_tensor(gpu->alloc(4, 4, DType::I32)), std::exception);
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// refresh_weights_many (one launch for every weight, in chunks) gives each device copy the same bits
// as refresh_weight one at a time: weights of one element, of several chunks and a bit, and small.
TEST_F(CudaTrainOps, RefreshWeightsManyMatchesOneAtATime) {
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1}, {300, 257}, {16, 96}};
    std::vector<Tensor> masters_one, masters_many;
    std::vector<Weight> one, many;
    for (size_t i = 0; i < shapes.size(); ++i) {
        const auto [R, C] = shapes[i];
        const auto w0 = random_f32(size_t(R * C), seed + i);
        masters_one.push_back(gpu->upload(w0, R, C));
        masters_many.push_back(gpu->upload(w0, R, C));
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
        one.push_back(gpu->weight_from_tensor(masters_one[i]));
        many.push_back(gpu->weight_from_tensor(masters_many[i]));
    }
    std::vector<WeightRefresh> refresh;
    for (size_t i = 0; i < shapes.size(); ++i) {  // an update that is not bf16-exact: the rounding counts
        const auto [R, C] = shapes[i];
        const auto delta = random_f32(size_t(R * C), seed + 10 + i);
        gpu->scale_add(masters_one[i], gpu->upload(delta, R, C), 0.37f);
        gpu->scale_add(masters_many[i], gpu->upload(delta, R, C), 0.37f);
        gpu->refresh_weight(one[i], masters_one[i]);
        refresh.push_back({&many[i], &masters_many[i]});
    }
    gpu->refresh_weights_many(refresh);
    for (size_t i = 0; i < shapes.size(); ++i) {
        const auto [R, C] = shapes[i];
        const auto x = gpu->upload(random_f32(size_t(5 * C), seed + 20 + i), 5, C);
        EXPECT_EQ(gpu->download(gpu->linear(x, one[i])), gpu->download(gpu->linear(x, many[i])))
            << "weight [" << R << ", " << C << "]: the same bf16 copy";
    }
    const std::vector<WeightRefresh> wrong = {{&many[1], &masters_one[1]}};
    EXPECT_THROW(gpu->refresh_weights_many(wrong), std::exception) << "another master";
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

TEST_F(CudaTrainOps, ExpertSetFromTensorsFollowsItsMastersAfterRefresh) {
    const int64_t E = 6, H = 64, I = 40, T = 20, K = 2;
    const auto gate = random_bf16_exact(size_t(E * I * H), seed, -0.2f, 0.2f);
    const auto up = random_bf16_exact(size_t(E * I * H), seed + 1, -0.2f, 0.2f);
    const auto down = random_bf16_exact(size_t(E * H * I), seed + 2, -0.2f, 0.2f);
    Tensor cg = cpu.upload(gate, E * I, H), cu = cpu.upload(up, E * I, H), cd = cpu.upload(down, E * H, I);
    Tensor gg = gpu->upload(gate, E * I, H), gu = gpu->upload(up, E * I, H), gd = gpu->upload(down, E * H, I);
    const ExpertSet cset = cpu.expert_set_from_tensors(cg, cu, cd, E), gset = gpu->expert_set_from_tensors(gg, gu, gd, E);
    std::vector<int32_t> ids;
    for (int64_t t = 0; t < T; ++t) ids.insert(ids.end(), {int32_t(t % E), int32_t((t + 1 + t / E) % E)});
    const auto w = random_f32(size_t(T * K), seed + 3, 0.1f, 1.0f);
    const auto x = random_f32(size_t(T * H), seed + 4);
    auto compare = [&](const char* what) {
        const RouterOutput cr{cpu.upload_i32(ids, T, K), cpu.upload(w, T, K)};
        const RouterOutput gr{gpu->upload_i32(ids, T, K), gpu->upload(w, T, K)};
        EXPECT_TRUE(close(gpu->download(gpu->moe_experts_train(gpu->upload(x, T, H), gr, gset, nullptr)),
                          cpu.download(cpu.moe_experts_train(cpu.upload(x, T, H), cr, cset, nullptr)), kNmseBf16))
            << what;
        // Few tokens: the fused decode kernels read the same stacked weights.
        const RouterOutput cr1{cpu.upload_i32({ids.data(), 2}, 1, K), cpu.upload({w.data(), 2}, 1, K)};
        const RouterOutput gr1{gpu->upload_i32({ids.data(), 2}, 1, K), gpu->upload({w.data(), 2}, 1, K)};
        EXPECT_TRUE(close(gpu->download(gpu->moe_experts(gpu->upload({x.data(), size_t(H)}, 1, H), gr1, gset)),
                          cpu.download(cpu.moe_experts(cpu.upload({x.data(), size_t(H)}, 1, H), cr1, cset)), kNmseF32))
            << what << " (decode kernels)";
    };
    compare("fresh set");
    for (Tensor* m : {&cg, &cu, &cd}) cpu.scale_inplace(*m, -2.0f);  // exact in bf16
    for (Tensor* m : {&gg, &gu, &gd}) gpu->scale_inplace(*m, -2.0f);
    gpu->refresh_expert_set(gset, gg, gu, gd);
    cpu.refresh_expert_set(cset, cg, cu, cd);
    compare("refreshed set");
    EXPECT_THROW(gpu->refresh_expert_set(gset, gu, gu, gd), std::exception) << "other masters";
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// ---- router ------------------------------------------------------------------------------------------

TEST_F(CudaTrainOps, ExpertCountsMatchCpu) {
    const int64_t T = 333, K = 6, E = 64;
    std::vector<int32_t> ids(size_t(T * K));
    std::mt19937_64 rng(seed);
    for (int32_t& id : ids) id = int32_t(rng() % 61);  // experts 61..63 get none
    const auto g = gpu->expert_counts(gpu->upload_i32(ids, T, K), E);
    EXPECT_EQ(g, cpu.expert_counts(cpu.upload_i32(ids, T, K), E));
    EXPECT_EQ(std::accumulate(g.begin(), g.end(), int64_t(0)), T * K);
    ids[7] = int32_t(E);
    EXPECT_THROW(gpu->expert_counts(gpu->upload_i32(ids, T, K), E), std::exception);
}

// router_logits keeps f32 activations on both of its paths (GEMV up to 64 rows, f32 GEMM beyond).
TEST_F(CudaTrainOps, RouterLogitsAreF32AndMatchCpu) {
    const int64_t E = 64, H = 2048;
    auto [cw, gw] = both_weights(random_bf16_exact(size_t(E * H), seed, -0.05f, 0.05f), E, H);
    for (int64_t T : {int64_t(5), int64_t(300)}) {
        const auto x = random_f32(size_t(T * H), seed + uint64_t(T));
        EXPECT_TRUE(close(gpu->download(gpu->router_logits(gpu->upload(x, T, H), gw)),
                          cpu.download(cpu.router_logits(cpu.upload(x, T, H), cw)), kNmseF32))
            << "T " << T;
    }
}

// ---- routed experts: realistic shapes, both grouping paths, an expert without tokens -------------

struct MoeTrainCase {
    int64_t T, E, K, H, I, rank;
    float dropout;
    bool three_hot;  // three experts take every token: exact rows per expert instead of padded slots
};

// Forward and backward of the routed experts with LoRA on both backends; gradients start at 0.5
// so that accumulation shows, and the experts listed in `idle` must keep exactly 0.5. keep: the
// GPU's forward keeps its rows (Backend::ExpertRows) and its backward uses them instead of
// recomputing (the CPU reference always recomputes).
void compare_moe(CpuBackend& cpu, CudaBackend& gpu, const MoeTrainCase& c, uint64_t seed, bool keep) {
    std::vector<int32_t> ids;
    std::vector<int32_t> all(size_t(c.E - 1));  // the last expert never gets a token
    std::iota(all.begin(), all.end(), 0);
    std::mt19937_64 rng(seed);
    for (int64_t t = 0; t < c.T; ++t) {
        if (c.three_hot) {
            all[0] = 0, all[1] = 1, all[2] = 2;
            all[3] = int32_t(3 + t % (c.E - 4));
        } else {
            std::shuffle(all.begin(), all.end(), rng);
        }
        ids.insert(ids.end(), all.begin(), all.begin() + c.K);
    }
    const int64_t E = c.E, H = c.H, I = c.I, r = c.rank, T = c.T, K = c.K;
    const auto x = random_f32(size_t(T * H), seed + 1), w = random_f32(size_t(T * K), seed + 2, 0.05f, 1.0f);
    const auto dy = random_f32(size_t(T * H), seed + 3);
    const auto gate = random_bf16_exact(size_t(E * I * H), seed + 4, -0.1f, 0.1f);
    const auto up = random_bf16_exact(size_t(E * I * H), seed + 5, -0.1f, 0.1f);
    const auto down = random_bf16_exact(size_t(E * H * I), seed + 6, -0.1f, 0.1f);
    struct LoraHost {
        std::vector<float> a, b;
        int64_t in, out;
    };
    LoraHost lh[3] = {{random_bf16_exact(size_t(E * r * H), seed + 7, -0.1f, 0.1f),
                       random_bf16_exact(size_t(E * I * r), seed + 8, -0.1f, 0.1f), H, I},
                      {random_bf16_exact(size_t(E * r * H), seed + 9, -0.1f, 0.1f),
                       random_bf16_exact(size_t(E * I * r), seed + 10, -0.1f, 0.1f), H, I},
                      {random_bf16_exact(size_t(E * r * I), seed + 11, -0.1f, 0.1f),
                       random_bf16_exact(size_t(E * H * r), seed + 12, -0.1f, 0.1f), I, H}};
    auto run = [&](Backend& b) {
        const Tensor tx = b.upload(x, T, H);
        const RouterOutput ro{b.upload_i32(ids, T, K), b.upload(w, T, K)};
        const ExpertSet set =
            b.expert_set_from_tensors(b.upload(gate, E * I, H), b.upload(up, E * I, H), b.upload(down, E * H, I), E);
        ExpertLora lora;
        lora.rank = r;
        LoraWeights* lw[3] = {&lora.gate, &lora.up, &lora.down};
        for (int i = 0; i < 3; ++i)
            *lw[i] = LoraWeights{b.upload(lh[i].a, E * r, lh[i].in), b.upload(lh[i].b, E * lh[i].out, r), 0.75f,
                                 c.dropout, uint64_t(100 + i)};
        auto half = [&](int64_t rows, int64_t cols) {
            return b.upload(std::vector<float>(size_t(rows * cols), 0.5f), rows, cols);
        };
        ExpertGrads grads{half(E * I, H), half(E * I, H), half(E * H, I)};
        ExpertLoraGrads lg;
        LoraGrads* lgp[3] = {&lg.gate, &lg.up, &lg.down};
        for (int i = 0; i < 3; ++i) *lgp[i] = LoraGrads{half(E * r, lh[i].in), half(E * lh[i].out, r)};
        std::shared_ptr<ExpertRows> rows;
        const Tensor y = b.moe_experts_train(tx, ro, set, &lora, keep ? &rows : nullptr);
        if (keep && &b == &gpu) {
            EXPECT_TRUE(rows) << "the CUDA forward kept no rows";
        }
        Tensor dw;
        const Tensor dx = b.moe_experts_backward(tx, ro, set, &lora, b.upload(dy, T, H), dw, &grads, &lg, rows.get());
        std::vector<std::vector<float>> out{b.download(y), b.download(dx), b.download(dw), b.download(grads.gate),
                                            b.download(grads.up), b.download(grads.down)};
        for (LoraGrads* g : lgp) {
            out.push_back(b.download(g->a));
            out.push_back(b.download(g->b));
        }
        return out;
    };
    const auto ref = run(cpu), got = run(gpu);
    const char* names[] = {"y", "dx", "d_weights", "d_gate", "d_up", "d_down", "d_gate_a", "d_gate_b",
                           "d_up_a", "d_up_b", "d_down_a", "d_down_b"};
    // Parameter gradients are compared as what was added to the 0.5 they started from.
    auto added = [](std::vector<float> v) {
        for (float& f : v) f -= 0.5f;
        return v;
    };
    for (size_t i = 0; i < ref.size(); ++i)
        EXPECT_TRUE(i < 3 ? close(got[i], ref[i], kNmseTrainBf16) : close(added(got[i]), added(ref[i]), kNmseTrainBf16))
            << names[i];
    // The idle expert (the last): every gradient row of it is exactly what it was.
    const int64_t e = E - 1;
    auto expect_untouched = [&](const std::vector<float>& g, int64_t row0, int64_t n, const char* what) {
        for (int64_t i = row0; i < row0 + n; ++i)
            if (g[size_t(i)] != 0.5f) {
                ADD_FAILURE() << what << ": element " << i << " of the idle expert is " << g[size_t(i)];
                return;
            }
    };
    expect_untouched(got[3], e * I * H, I * H, "d_gate");
    expect_untouched(got[4], e * I * H, I * H, "d_up");
    expect_untouched(got[5], e * H * I, H * I, "d_down");
    for (int i = 0; i < 3; ++i) {
        expect_untouched(got[size_t(6 + 2 * i)], e * r * lh[i].in, r * lh[i].in, "LoRA a");
        expect_untouched(got[size_t(7 + 2 * i)], e * lh[i].out * r, lh[i].out * r, "LoRA b");
    }
}

TEST_F(CudaTrainOps, RoutedExpertsWithLoraMatchCpu) {
    // Padded slots (random routing), with and without dropout; exact rows per expert (three experts
    // take every token, the others a few: 32 padded slots of 600 rows would exceed the cap).
    const MoeTrainCase cases[] = {{96, 9, 3, 256, 96, 4, 0.0f, false},
                                  {96, 9, 3, 256, 96, 4, 0.3f, false},
                                  {600, 33, 4, 128, 64, 8, 0.2f, true}};
    uint64_t s = seed;
    for (const bool keep : {false, true})
        for (const MoeTrainCase& c : cases) {
            SCOPED_TRACE("T " + std::to_string(c.T) + " E " + std::to_string(c.E) + " dropout " +
                         std::to_string(c.dropout) + (c.three_hot ? " three-hot" : " random") +
                         (keep ? ", rows kept" : ", rows recomputed"));
            compare_moe(cpu, *gpu, c, s += 100, keep);
        }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// The op table's routed-expert cases leave expert 3 without a token: its gradient rows stay
// exactly zero on CUDA too.
TEST_F(CudaTrainOps, ExpertWithoutTokensHasExactlyZeroGradient) {
    int checked = 0;
    for (const OpCase& c : op_table()) {
        if (c.name.rfind("moe_experts", 0) != 0) continue;
        const OpInstance in = c.make(seed);
        OpOutputs d = c.forward(*gpu, in);
        for (float& v : d[0]) v = 1.0f;
        const OpOutputs g = c.backward(*gpu, in, d);
        // gradients: x, w, gate [E*I, H], up, down [E*H, I], then LoRA a/b per projection
        const int64_t I = 5, H = 8, e = 3, rk = 2;
        for (int64_t k = 0; k < I * H; ++k) {
            EXPECT_EQ(g[2][size_t(e * I * H + k)], 0.0f) << c.name << " gate";
            EXPECT_EQ(g[3][size_t(e * I * H + k)], 0.0f) << c.name << " up";
            EXPECT_EQ(g[4][size_t(e * H * I + k)], 0.0f) << c.name << " down";
        }
        if (g.size() > 5) {
            const int64_t in_w[3] = {H, H, I}, out_w[3] = {I, I, H};
            for (int p = 0; p < 3; ++p) {
                for (int64_t k = 0; k < rk * in_w[p]; ++k) EXPECT_EQ(g[size_t(5 + 2 * p)][size_t(e * rk * in_w[p] + k)], 0.0f);
                for (int64_t k = 0; k < out_w[p] * rk; ++k) EXPECT_EQ(g[size_t(6 + 2 * p)][size_t(e * out_w[p] * rk + k)], 0.0f);
            }
        }
        ++checked;
    }
    EXPECT_EQ(checked, 3);
}

// ---- device-side checks ------------------------------------------------------------------------------

// gather_rows / scatter_add_rows check their indices on the device and report at the next sync.
TEST_F(CudaTrainOps, OutOfRangeRowIndicesAreReportedAtTheNextSync) {
    const Tensor x = gpu->upload(random_f32(12, seed), 4, 3);
    const Tensor bad = gpu->upload_i32(std::vector<int32_t>{1, 4}, 2, 1);
    const Tensor rows = gpu->gather_rows(x, bad);
    EXPECT_THROW(gpu->synchronize(), std::exception);
    gpu->synchronize();  // reported once, then clear
    const auto got = gpu->download(rows);
    EXPECT_TRUE(std::isnan(got[3]) && std::isnan(got[5])) << "the bad row is NaN";
    Tensor dst = gpu->alloc(4, 3);
    gpu->scatter_add_rows(gpu->upload(random_f32(6, seed + 1), 2, 3), gpu->upload_i32(std::vector<int32_t>{-1, 2}, 2, 1),
                          dst);
    EXPECT_THROW(gpu->download(dst), std::exception);
    EXPECT_EQ(gpu->download(gpu->gather_rows(x, gpu->upload_i32(std::vector<int32_t>{3, 0}, 2, 1))).size(), 6u);
}

}  // namespace
}  // namespace moe::test
