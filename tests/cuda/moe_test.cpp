// CUDA SwiGLU FFN and routed experts vs the CPU reference: the fused decode kernels (T <= 2, f32
// activations, expert ids read on the device) and the prefill path (tokens permuted by expert,
// cuBLAS GEMMs per active expert, bf16 activations); and moe_block, router + routed + shared expert.
#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cuda_test_util.h"

namespace moe::test {
namespace {

using CudaMoe = CudaTest;

TEST_F(CudaMoe, FfnMatchesCpu) {
    struct Case { int64_t T, H, I; double tol; };
    const Case cases[] = {{1, 2048, 1408, kNmseF32}, {2, 128, 320, kNmseF32}, {1, 100, 36, kNmseF32},
                          {20, 512, 704, kNmseBf16}, {9, 128, 320, kNmseBf16}};
    uint64_t s = seed;
    for (const Case& c : cases) {
        auto [cx, gx] = both(random_f32(size_t(c.T * c.H), ++s), c.T, c.H);
        auto [cg, gg] = both_weights(random_bf16_exact(size_t(c.I * c.H), ++s, -0.1f, 0.1f), c.I, c.H);
        auto [cu, gu] = both_weights(random_bf16_exact(size_t(c.I * c.H), ++s, -0.1f, 0.1f), c.I, c.H);
        auto [cd, gd] = both_weights(random_bf16_exact(size_t(c.H * c.I), ++s, -0.1f, 0.1f), c.H, c.I);
        const auto g = gpu->download(gpu->ffn(gx, FfnWeights{gg, gu, gd}));
        const auto r = cpu.download(cpu.ffn(cx, FfnWeights{cg, cu, cd}));
        EXPECT_TRUE(close(g, r, c.tol)) << "T " << c.T << " H " << c.H << " I " << c.I;
    }
}

// Prefill routing: random, every token to the same experts, round-robin (perfectly even), and
// round-robin over all experts but the last (one expert idle) all run the batched GEMMs over
// padded slots; three experts taking every token and the others a few (600 tokens, 32 experts:
// 32 slots of 600 rows would exceed the padded scratch cap) run each expert over its exact rows.
enum class Routing { Random, Skewed, RoundRobin, RoundRobinOneIdle, ThreeHot };

TEST_F(CudaMoe, ExpertsMatchCpu) {
    struct Case { int64_t T, E, K, H, I; double tol; Routing routing = Routing::Random; };
    const Case cases[] = {{1, 64, 6, 2048, 1408, kNmseF32},  {2, 16, 4, 128, 32, kNmseF32},
                          {40, 64, 6, 512, 352, kNmseBf16},  {13, 16, 4, 128, 32, kNmseBf16},
                          {24, 16, 4, 128, 64, kNmseBf16, Routing::Skewed},
                          {24, 16, 4, 128, 64, kNmseBf16, Routing::RoundRobin},
                          {30, 16, 4, 128, 64, kNmseBf16, Routing::RoundRobinOneIdle},
                          {600, 32, 4, 128, 64, kNmseBf16, Routing::ThreeHot}};
    uint64_t s = seed;
    for (const Case& c : cases) {
        SCOPED_TRACE("T " + std::to_string(c.T) + " E " + std::to_string(c.E));
        std::vector<FfnWeights> ce, ge;
        for (int64_t e = 0; e < c.E; ++e) {
            auto [cg, gg] = both_weights(random_bf16_exact(size_t(c.I * c.H), ++s, -0.1f, 0.1f), c.I, c.H);
            auto [cu, gu] = both_weights(random_bf16_exact(size_t(c.I * c.H), ++s, -0.1f, 0.1f), c.I, c.H);
            auto [cd, gd] = both_weights(random_bf16_exact(size_t(c.H * c.I), ++s, -0.1f, 0.1f), c.H, c.I);
            ce.push_back({cg, cu, cd});
            ge.push_back({gg, gu, gd});
        }
        const ExpertSet cset = cpu.make_expert_set(ce), gset = gpu->make_expert_set(ge);
        // Distinct experts per token, positive weights, as a router gives.
        std::mt19937_64 rng(++s);
        std::vector<int32_t> ids;
        std::vector<int32_t> all(size_t(c.E));
        std::iota(all.begin(), all.end(), 0);
        for (int64_t t = 0; t < c.T; ++t) {
            if (c.routing == Routing::Random) std::shuffle(all.begin(), all.end(), rng);
            if (c.routing == Routing::RoundRobin) std::rotate(all.begin(), all.begin() + c.K, all.end());
            if (c.routing == Routing::RoundRobinOneIdle) std::rotate(all.begin(), all.begin() + c.K, all.end() - 1);
            if (c.routing == Routing::ThreeHot) {
                all[3] = int32_t(3 + t % (c.E - 3));  // experts 0, 1, 2 and one of the others
            }
            ids.insert(ids.end(), all.begin(), all.begin() + c.K);
        }
        const auto w = random_f32(size_t(c.T * c.K), ++s, 0.05f, 1.0f);
        const RouterOutput cr{cpu.upload_i32(ids, c.T, c.K), cpu.upload(w, c.T, c.K)};
        const RouterOutput gr{gpu->upload_i32(ids, c.T, c.K), gpu->upload(w, c.T, c.K)};
        auto [cx, gx] = both(random_f32(size_t(c.T * c.H), ++s), c.T, c.H);
        const auto g = gpu->download(gpu->moe_experts(gx, gr, gset));
        const auto r = cpu.download(cpu.moe_experts(cx, cr, cset));
        EXPECT_TRUE(close(g, r, c.tol));
    }
}

// moe_block: router, routed experts and the shared expert as three kernels for T <= 2 (the
// shared expert fused into the routed experts' launches), the Backend default for more tokens.
// Expert choices must be identical; outputs within the path's tolerance; repeated calls on one
// backend check that the fused router's block counter is left at zero.
TEST_F(CudaMoe, BlockMatchesCpu) {
    struct Case { int64_t T, E, K, H, I, shared_I; double tol; };
    const Case cases[] = {{1, 16, 4, 1024, 512, 1024, kNmseF32}, {2, 16, 4, 1024, 512, 0, kNmseF32},
                          {1, 8, 2, 100, 36, 72, kNmseF32},      {2, 8, 2, 100, 36, 0, kNmseF32},
                          {5, 16, 4, 512, 256, 512, kNmseBf16},
                          // odd hidden: the down kernel's last block has one output row of two (of 4, of 8)
                          {1, 8, 2, 99, 64, 128, kNmseF32}, {2, 8, 2, 99, 64, 0, kNmseF32},
                          // 99 hidden rows: the last gate/up warp has one row of two
                          {1, 8, 3, 64, 33, 0, kNmseF32}};
    // Every instantiation of the decode kernels (kernels/moe.cu DecodeShape): rows per gate/up warp,
    // rows per down block. Each one against the same CPU twin and tolerance.
    struct Shape { const char* gate_up; const char* down; };
    const Shape shapes[] = {{"1x4", "8x2"}, {"1x4", "2x6"}, {"2x2", "4x3"}, {"1x2", "4x2"},
                            {"1x6", "6x3"}, {"2x2", "16x1"}, {"1x4", "8x1"}, {"1x4", "4x4"}};
    uint64_t s = seed;
    for (const Shape& shape : shapes)
    for (const Case& c : cases) {
        setenv("MOE_GU_SHAPE", shape.gate_up, 1);
        setenv("MOE_DOWN_SHAPE", shape.down, 1);
        SCOPED_TRACE("T " + std::to_string(c.T) + " E " + std::to_string(c.E) + " H " + std::to_string(c.H) +
                     " shared " + std::to_string(c.shared_I) + " gate/up " + shape.gate_up +
                     " down " + shape.down);
        auto ffn_pair = [&](int64_t inter) {
            auto [cg, gg] = both_weights(random_bf16_exact(size_t(inter * c.H), ++s, -0.1f, 0.1f), inter, c.H);
            auto [cu, gu] = both_weights(random_bf16_exact(size_t(inter * c.H), ++s, -0.1f, 0.1f), inter, c.H);
            auto [cd, gd] = both_weights(random_bf16_exact(size_t(c.H * inter), ++s, -0.1f, 0.1f), c.H, inter);
            return std::pair{FfnWeights{cg, cu, cd}, FfnWeights{gg, gu, gd}};
        };
        std::vector<FfnWeights> ce, ge;
        for (int64_t e = 0; e < c.E; ++e) {
            auto [cf, gf] = ffn_pair(c.I);
            ce.push_back(cf), ge.push_back(gf);
        }
        const ExpertSet cset = cpu.make_expert_set(ce), gset = gpu->make_expert_set(ge);
        std::optional<std::pair<FfnWeights, FfnWeights>> shared;
        if (c.shared_I > 0) shared = ffn_pair(c.shared_I);
        auto [cgate, ggate] = both_weights(random_bf16_exact(size_t(c.E * c.H), ++s, -0.1f, 0.1f), c.E, c.H);
        auto [cb, gb] = both(random_f32(size_t(c.E), ++s, -0.05f, 0.05f), 1, c.E);
        RouterParams p;
        p.n_experts = c.E;
        p.top_k = c.K;
        p.norm_topk_prob = true;
        p.routed_scaling_factor = 2.446f;
        for (int rep = 0; rep < 3; ++rep) {
            auto [cx, gx] = both(random_f32(size_t(c.T * c.H), ++s), c.T, c.H);
            RouterOutput cr, gr;
            const auto g = gpu->download(
                gpu->moe_block(gx, ggate, &gb, p, gset, shared ? &shared->second : nullptr, gr));
            const auto r = cpu.download(cpu.moe_block(cx, cgate, &cb, p, cset, shared ? &shared->first : nullptr, cr));
            EXPECT_EQ(gpu->download_i32(gr.expert_ids), cpu.download_i32(cr.expert_ids)) << "repeat " << rep;
            EXPECT_TRUE(close(g, r, c.tol)) << "repeat " << rep;
        }
    }
    unsetenv("MOE_GU_SHAPE");
    unsetenv("MOE_DOWN_SHAPE");
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

}  // namespace
}  // namespace moe::test
