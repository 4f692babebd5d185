// CUDA attention vs the CPU reference, both with a partly filled KV cache:
//   MLA decode (absorbed, split-K) and MLA prefill (latent expanded through kv_b, flash kernel);
//   GQA decode and prefill for several group sizes; decode with the position in device memory.
// The cache rows written by the call must match exactly; outputs within the stated NMSE.
// The fused decode prologues (…_from_projections) against the CPU's op-by-op defaults, and the
// batched decode step's MLA and GQA (…_attention_rows) against each row alone on the CPU.
// The tensor-core prefill's causal softmax kernel against a CPU twin.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "attention.h"
#include "cuda/device_buffer.h"
#include "cuda_test_util.h"

namespace moe::test {
namespace {

using CudaAttention = CudaTest;

struct MlaCase {
    MlaDims d;
    int64_t T, start_pos, capacity;
    double tol;
};

TEST_F(CudaAttention, MlaMatchesCpu) {
    const MlaDims moonlight{16, 128, 64, 128, 512, 0.0721688f};
    const MlaDims tiny{4, 32, 16, 32, 64, 0.187f};
    const MlaDims odd{4, 32, 14, 32, 64, 0.2f};  // 78-wide cache rows: the scalar (unaligned) decode kernel
    const MlaCase cases[] = {{moonlight, 1, 0, 64, kNmseF32},    {moonlight, 1, 700, 1024, kNmseF32},
                             {moonlight, 4, 37, 64, kNmseF32},   {tiny, 3, 5, 16, kNmseF32},
                             {moonlight, 40, 0, 64, kNmseBf16},  {moonlight, 33, 50, 128, kNmseBf16},
                             {tiny, 20, 9, 40, kNmseBf16},       {odd, 2, 7, 16, kNmseF32},
                             {odd, 12, 3, 16, kNmseBf16},        {moonlight, 150, 70, 256, kNmseBf16}};
    // Prefill (T > 8) runs on the tensor cores: the flash kernel of attention_flash_tc.cu for the
    // widths it is built for (moonlight's 192/128: T 40, 33 and 150 over several key tiles, after
    // cached rows), else with materialised scores, and on a backend with no room for those the
    // CUDA-core flash kernel that longer prompts take (tiny, odd).
    CudaBackendOptions no_scores{0, true};
    no_scores.prefill_score_bytes = 0;
    CudaBackend flash(no_scores);
    uint64_t s = seed;
    for (const MlaCase& c : cases) {
        const MlaDims& d = c.d;
        const int64_t T = c.T, H = d.n_heads;
        // Earlier positions already cached (random rows); the rest of the cache is zero.
        std::vector<float> cache(size_t(c.capacity * d.cache_cols()), 0.0f);
        const auto filled = random_f32(size_t(c.start_pos * d.cache_cols()), ++s);
        std::copy(filled.begin(), filled.end(), cache.begin());
        const auto qv = random_f32(size_t(T * H * d.qk_head()), ++s);
        const auto lv = random_f32(size_t(T * d.kv_lora), ++s);
        const auto pv = random_f32(size_t(T * d.qk_rope), ++s);
        const auto wv = random_bf16_exact(size_t(H * (d.qk_nope + d.v_head) * d.kv_lora), ++s, -0.2f, 0.2f);
        const int64_t w_rows = H * (d.qk_nope + d.v_head);
        auto [cc, gc] = both(cache, c.capacity, d.cache_cols());
        auto [cq, gq] = both(qv, T, H * d.qk_head());
        auto [cl, gl] = both(lv, T, d.kv_lora);
        auto [cp, gp] = both(pv, T, d.qk_rope);
        auto [cw, gw] = both_weights(wv, w_rows, d.kv_lora);
        const auto g = gpu->download(gpu->mla_attention(gq, gl, gp, gw, gc, c.start_pos, d));
        const auto r = cpu.download(cpu.mla_attention(cq, cl, cp, cw, cc, c.start_pos, d));
        EXPECT_TRUE(close(g, r, c.tol)) << "H " << H << " T " << T << " start " << c.start_pos;
        EXPECT_EQ(gpu->download(gc), cpu.download(cc)) << "cache rows";
        if (T > 8) {
            Tensor fc = flash.upload(cache, c.capacity, d.cache_cols());
            const Tensor fq = flash.upload(qv, T, H * d.qk_head()), fl = flash.upload(lv, T, d.kv_lora),
                         fp = flash.upload(pv, T, d.qk_rope);
            const Weight fw = flash.weight_from_f32(wv, w_rows, d.kv_lora);
            const auto f = flash.download(flash.mla_attention(fq, fl, fp, fw, fc, c.start_pos, d));
            EXPECT_TRUE(close(f, r, c.tol)) << "flash kernel, H " << H << " T " << T << " start " << c.start_pos;
        }
    }
    EXPECT_EQ(flash.damaged_guards(), 0);
}

struct GqaCase {
    GqaDims d;
    int64_t T, start_pos, capacity;
    double tol;
};

TEST_F(CudaAttention, GqaMatchesCpu) {
    const GqaDims q15{12, 2, 128, 0.0883883f}, q7{28, 4, 128, 0.0883883f}, tiny{4, 2, 32, 0.176777f}, mha{4, 4, 64, 0.125f};
    const GqaDims odd{6, 2, 30, 0.18f};  // head_dim 30: the scalar decode and prefill paths
    // Decode (T <= 8) stays f32; prefill runs on the tensor cores (bf16 keys, values, queries and
    // probabilities; head widths 128 and 64 by the flash kernel of attention_flash_tc.cu, each
    // query head reading its kv head, on every backend), the other widths through a backend with no
    // room for score matrices on the f32 flash kernel.
    const GqaCase cases[] = {{q15, 1, 0, 16, kNmseF32},    {q15, 1, 900, 1024, kNmseF32}, {q7, 2, 300, 512, kNmseF32},
                             {tiny, 5, 3, 16, kNmseF32},   {q15, 48, 0, 64, kNmseBf16},   {q7, 20, 100, 256, kNmseBf16},
                             {mha, 17, 31, 64, kNmseBf16}, {odd, 2, 9, 16, kNmseF32},     {odd, 11, 4, 32, kNmseBf16},
                             {q15, 130, 60, 256, kNmseBf16}};
    CudaBackendOptions no_scores{0, true};
    no_scores.prefill_score_bytes = 0;
    CudaBackend flash(no_scores);
    uint64_t s = seed;
    for (const GqaCase& c : cases) {
        const GqaDims& d = c.d;
        const int64_t T = c.T, kv = d.n_kv_heads * d.head_dim, qc = d.n_heads * d.head_dim;
        std::vector<float> kc(size_t(c.capacity * kv), 0.0f), vc(size_t(c.capacity * kv), 0.0f);
        const auto kf = random_f32(size_t(c.start_pos * kv), ++s), vf = random_f32(size_t(c.start_pos * kv), ++s);
        std::copy(kf.begin(), kf.end(), kc.begin());
        std::copy(vf.begin(), vf.end(), vc.begin());
        const auto qv = random_f32(size_t(T * qc), ++s), knew = random_f32(size_t(T * kv), ++s),
                   vnew = random_f32(size_t(T * kv), ++s);
        auto [ckc, gkc] = both(kc, c.capacity, kv);
        auto [cvc, gvc] = both(vc, c.capacity, kv);
        auto [cq, gq] = both(qv, T, qc);
        auto [ck, gk] = both(knew, T, kv);
        auto [cv, gv] = both(vnew, T, kv);
        const auto g = gpu->download(gpu->gqa_attention(gq, gk, gv, gkc, gvc, c.start_pos, d));
        const auto r = cpu.download(cpu.gqa_attention(cq, ck, cv, ckc, cvc, c.start_pos, d));
        EXPECT_TRUE(close(g, r, c.tol)) << "heads " << d.n_heads << "/" << d.n_kv_heads << " T " << T << " start "
                                        << c.start_pos;
        EXPECT_EQ(gpu->download(gkc), cpu.download(ckc));
        EXPECT_EQ(gpu->download(gvc), cpu.download(cvc));
        if (T > 8) {
            Tensor fkc = flash.upload(kc, c.capacity, kv), fvc = flash.upload(vc, c.capacity, kv);
            const Tensor fq = flash.upload(qv, T, qc), fk = flash.upload(knew, T, kv), fv = flash.upload(vnew, T, kv);
            const auto f = flash.download(flash.gqa_attention(fq, fk, fv, fkc, fvc, c.start_pos, d));
            // Widths the tensor-core flash kernel is built for take it here too (bf16); the others the
            // f32 kernel.
            const bool tc = kernels::flash_attention_supported(int(d.head_dim), int(d.head_dim));
            EXPECT_TRUE(close(f, r, tc ? c.tol : kNmseF32)) << "flash kernel, heads " << d.n_heads << " T " << T;
        }
    }
    EXPECT_EQ(flash.damaged_guards(), 0);
}

TEST_F(CudaAttention, DecodeWithTheDevicePositionMatchesHostPosition) {
    const MlaDims d{16, 128, 64, 128, 512, 0.0721688f};
    const int64_t cap = 512, start = 300;
    std::vector<float> cache(size_t(cap * d.cache_cols()), 0.0f);
    const auto filled = random_f32(size_t(start * d.cache_cols()), seed);
    std::copy(filled.begin(), filled.end(), cache.begin());
    auto [cc, gc] = both(cache, cap, d.cache_cols());
    auto [cq, gq] = both(random_f32(size_t(16 * d.qk_head()), seed + 1), 1, 16 * d.qk_head());
    auto [cl, gl] = both(random_f32(size_t(d.kv_lora), seed + 2), 1, d.kv_lora);
    auto [cp, gp] = both(random_f32(size_t(d.qk_rope), seed + 3), 1, d.qk_rope);
    auto [cw, gw] = both_weights(random_bf16_exact(size_t(16 * 256 * 512), seed + 4, -0.2f, 0.2f), 16 * 256, 512);
    const std::vector<int32_t> pos = {int32_t(start)};
    Tensor dpos = gpu->upload_i32(pos, 1, 1);
    gpu->set_device_inputs(nullptr, i32_ptr(dpos));
    const auto g = gpu->download(gpu->mla_attention(gq, gl, gp, gw, gc, 0, d));  // host position ignored
    gpu->set_device_inputs(nullptr, nullptr);
    const auto r = cpu.download(cpu.mla_attention(cq, cl, cp, cw, cc, start, d));
    EXPECT_TRUE(close(g, r, kNmseF32));
    EXPECT_EQ(gpu->download(gc), cpu.download(cc));
}

// A RoPE table of `dim` with a non-unit attention factor (YaRN's), so the factor is exercised.
RopeTable test_rope(int64_t dim, RopeLayout layout) {
    RopeTable t;
    t.inv_freq = default_inv_freq(10000.0, dim);
    t.attention_factor = 1.07f;
    t.layout = layout;
    return t;
}

// The fused MLA decode prologue (latent norm, both ropes, cache write, absorption in one kernel)
// vs the CPU's op-by-op default; prefill sizes take the default on the GPU too. The cache row the
// call writes went through a norm and a rope on both sides: compared within the f32 tolerance.
TEST_F(CudaAttention, MlaFromProjectionsMatchesCpu) {
    const MlaDims moonlight{16, 128, 64, 128, 512, 0.0721688f};
    const MlaDims tiny{4, 32, 16, 32, 64, 0.187f};
    const MlaCase cases[] = {{moonlight, 1, 0, 64, kNmseF32}, {moonlight, 1, 700, 1024, kNmseF32},
                             {moonlight, 2, 37, 64, kNmseF32}, {tiny, 3, 5, 16, kNmseF32},
                             {moonlight, 20, 9, 64, kNmseBf16}};
    const RopeTable rope = test_rope(64, RopeLayout::Interleaved), rope_tiny = test_rope(16, RopeLayout::Interleaved);
    uint64_t s = seed;
    for (bool device_pos : {false, true}) {
        for (const MlaCase& c : cases) {
            if (device_pos && c.T > 8) continue;
            const MlaDims& d = c.d;
            const int64_t T = c.T, H = d.n_heads;
            SCOPED_TRACE("H " + std::to_string(H) + " T " + std::to_string(T) + " start " + std::to_string(c.start_pos) +
                         (device_pos ? " (device position)" : ""));
            const RopeTable& rt = d.qk_rope == 64 ? rope : rope_tiny;
            std::vector<float> cache(size_t(c.capacity * d.cache_cols()), 0.0f);
            const auto filled = random_f32(size_t(c.start_pos * d.cache_cols()), ++s);
            std::copy(filled.begin(), filled.end(), cache.begin());
            auto [cc, gc] = both(cache, c.capacity, d.cache_cols());
            auto [cq, gq] = both(random_f32(size_t(T * H * d.qk_head()), ++s), T, H * d.qk_head());
            auto [ckv, gkv] = both(random_f32(size_t(T * d.cache_cols()), ++s, -2.0f, 2.0f), T, d.cache_cols());
            auto [cn, gn] = both(random_f32(size_t(d.kv_lora), ++s, 0.5f, 1.5f), 1, d.kv_lora);
            auto [cw, gw] = both_weights(random_bf16_exact(size_t(H * (d.qk_nope + d.v_head) * d.kv_lora), ++s, -0.2f, 0.2f),
                                         H * (d.qk_nope + d.v_head), d.kv_lora);
            Tensor dpos;
            if (device_pos) {
                dpos = gpu->upload_i32(std::vector<int32_t>{int32_t(c.start_pos)}, 1, 1);
                gpu->set_device_inputs(nullptr, i32_ptr(dpos));
            }
            const auto g = gpu->download(
                gpu->mla_attention_from_projections(gq, gkv, gn, 1e-6f, rt, gw, gc, device_pos ? 0 : c.start_pos, d));
            gpu->set_device_inputs(nullptr, nullptr);
            const auto r =
                cpu.download(cpu.mla_attention_from_projections(cq, ckv, cn, 1e-6f, rt, cw, cc, c.start_pos, d));
            EXPECT_TRUE(close(g, r, c.tol));
            EXPECT_TRUE(close(gpu->download(gc), cpu.download(cc), kNmseF32)) << "cache rows";
        }
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// A batched decode step's MLA (one launch per kernel for every row, each row against its own cache
// at its own position) vs the CPU running each row alone: outputs at the decode tolerance, every
// cache's written row exact. Positions from 0 to deep in the cache, rows of one sequence each.
TEST_F(CudaAttention, MlaRowsMatchEachRowAlone) {
    const MlaDims moonlight{16, 128, 64, 128, 512, 0.0721688f};
    const MlaDims tiny{4, 32, 16, 32, 64, 0.187f};
    const RopeTable rope = test_rope(64, RopeLayout::Interleaved), rope_tiny = test_rope(16, RopeLayout::Interleaved);
    struct RowsCase {
        MlaDims d;
        std::vector<int64_t> positions;
        int64_t capacity;
    };
    const RowsCase cases[] = {{moonlight, {0, 700, 37, 5}, 1024}, {tiny, {3, 0, 15}, 16},
                              {moonlight, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1000}, 1024}};
    uint64_t s = seed;
    for (const RowsCase& c : cases) {
        const MlaDims& d = c.d;
        const int64_t B = int64_t(c.positions.size()), H = d.n_heads;
        SCOPED_TRACE("H " + std::to_string(H) + " rows " + std::to_string(B));
        const RopeTable& rt = d.qk_rope == 64 ? rope : rope_tiny;
        std::vector<Tensor> cpu_caches, gpu_caches;
        for (int64_t b = 0; b < B; ++b) {
            std::vector<float> cache(size_t(c.capacity * d.cache_cols()), 0.0f);
            const auto filled = random_f32(size_t(c.positions[size_t(b)] * d.cache_cols()), ++s);
            std::copy(filled.begin(), filled.end(), cache.begin());
            auto [cc, gc] = both(cache, c.capacity, d.cache_cols());
            cpu_caches.push_back(cc);
            gpu_caches.push_back(gc);
        }
        const auto q = random_f32(size_t(B * H * d.qk_head()), ++s);
        const auto kv = random_f32(size_t(B * d.cache_cols()), ++s, -2.0f, 2.0f);
        auto [cn, gn] = both(random_f32(size_t(d.kv_lora), ++s, 0.5f, 1.5f), 1, d.kv_lora);
        auto [cw, gw] = both_weights(random_bf16_exact(size_t(H * (d.qk_nope + d.v_head) * d.kv_lora), ++s, -0.2f, 0.2f),
                                     H * (d.qk_nope + d.v_head), d.kv_lora);
        Tensor gq = gpu->upload(q, B, H * d.qk_head()), gkv = gpu->upload(kv, B, d.cache_cols());
        std::vector<Tensor*> gptrs;
        for (Tensor& t : gpu_caches) gptrs.push_back(&t);
        const auto g = gpu->download(gpu->mla_attention_rows(gq, gkv, gn, 1e-6f, rt, gw, gptrs, c.positions, d));
        for (int64_t b = 0; b < B; ++b) {
            SCOPED_TRACE("row " + std::to_string(b) + " at " + std::to_string(c.positions[size_t(b)]));
            Tensor cq = cpu.upload(std::span(q).subspan(size_t(b * H * d.qk_head()), size_t(H * d.qk_head())), 1, H * d.qk_head());
            const Tensor ckv = cpu.upload(std::span(kv).subspan(size_t(b * d.cache_cols()), size_t(d.cache_cols())), 1,
                                          d.cache_cols());
            const auto r = cpu.download(cpu.mla_attention_from_projections(cq, ckv, cn, 1e-6f, rt, cw, cpu_caches[size_t(b)],
                                                                           c.positions[size_t(b)], d));
            const std::vector<float> got(g.begin() + b * H * d.v_head, g.begin() + (b + 1) * H * d.v_head);
            EXPECT_TRUE(close(got, r, kNmseF32));
            EXPECT_TRUE(close(gpu->download(gpu_caches[size_t(b)]), cpu.download(cpu_caches[size_t(b)]), kNmseF32))
                << "cache rows";
        }
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// The fused GQA decode prologue (q and k rotated, both caches written in one kernel) vs the CPU's
// op-by-op default, for both rotation layouts.
TEST_F(CudaAttention, GqaFromProjectionsMatchesCpu) {
    const GqaDims q15{12, 2, 128, 0.0883883f}, tiny{4, 2, 32, 0.176777f};
    const GqaCase cases[] = {{q15, 1, 0, 16, kNmseF32}, {q15, 1, 900, 1024, kNmseF32}, {tiny, 5, 3, 16, kNmseF32},
                             {q15, 20, 4, 64, kNmseBf16}};
    uint64_t s = seed;
    for (RopeLayout layout : {RopeLayout::NeoxHalves, RopeLayout::Interleaved}) {
        for (const GqaCase& c : cases) {
            const GqaDims& d = c.d;
            const int64_t T = c.T, kv = d.n_kv_heads * d.head_dim;
            SCOPED_TRACE("heads " + std::to_string(d.n_heads) + " T " + std::to_string(T) + " start " +
                         std::to_string(c.start_pos) + (layout == RopeLayout::NeoxHalves ? " neox" : " interleaved"));
            const RopeTable rt = test_rope(d.head_dim, layout);
            std::vector<float> kc(size_t(c.capacity * kv), 0.0f), vc(size_t(c.capacity * kv), 0.0f);
            const auto kf = random_f32(size_t(c.start_pos * kv), ++s), vf = random_f32(size_t(c.start_pos * kv), ++s);
            std::copy(kf.begin(), kf.end(), kc.begin());
            std::copy(vf.begin(), vf.end(), vc.begin());
            auto [ckc, gkc] = both(kc, c.capacity, kv);
            auto [cvc, gvc] = both(vc, c.capacity, kv);
            auto [cq, gq] = both(random_f32(size_t(T * d.n_heads * d.head_dim), ++s), T, d.n_heads * d.head_dim);
            auto [ck, gk] = both(random_f32(size_t(T * kv), ++s), T, kv);
            auto [cv, gv] = both(random_f32(size_t(T * kv), ++s), T, kv);
            const auto g =
                gpu->download(gpu->gqa_attention_from_projections(gq, gk, gv, rt, gkc, gvc, c.start_pos, d));
            const auto r = cpu.download(cpu.gqa_attention_from_projections(cq, ck, cv, rt, ckc, cvc, c.start_pos, d));
            EXPECT_TRUE(close(g, r, c.tol));
            EXPECT_TRUE(close(gpu->download(gkc), cpu.download(ckc), kNmseF32)) << "k cache";
            EXPECT_EQ(gpu->download(gvc), cpu.download(cvc)) << "v cache";
        }
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// A batched decode step's GQA (every row in one launch, each against its own caches) vs the CPU
// running each row alone: outputs at the decode tolerance, the written cache rows exact.
TEST_F(CudaAttention, GqaRowsMatchEachRowAlone) {
    const GqaDims q15{12, 2, 128, 0.0883883f}, tiny{4, 2, 32, 0.176777f};
    struct RowsCase {
        GqaDims d;
        std::vector<int64_t> positions;
        int64_t capacity;
    };
    const RowsCase cases[] = {{q15, {0, 900, 17, 4}, 1024}, {tiny, {3, 0, 15}, 16}};
    const RopeTable rt = test_rope(128, RopeLayout::NeoxHalves), rt_tiny = test_rope(32, RopeLayout::NeoxHalves);
    uint64_t s = seed;
    for (const RowsCase& c : cases) {
        const GqaDims& d = c.d;
        const int64_t B = int64_t(c.positions.size()), kv = d.n_kv_heads * d.head_dim, qw = d.n_heads * d.head_dim;
        SCOPED_TRACE("heads " + std::to_string(d.n_heads) + " rows " + std::to_string(B));
        const RopeTable& rope = d.head_dim == 128 ? rt : rt_tiny;
        std::vector<Tensor> ck, cv, gk, gv;
        for (int64_t b = 0; b < B; ++b) {
            std::vector<float> kc(size_t(c.capacity * kv), 0.0f), vc(size_t(c.capacity * kv), 0.0f);
            const auto kf = random_f32(size_t(c.positions[size_t(b)] * kv), ++s);
            const auto vf = random_f32(size_t(c.positions[size_t(b)] * kv), ++s);
            std::copy(kf.begin(), kf.end(), kc.begin());
            std::copy(vf.begin(), vf.end(), vc.begin());
            auto [ckc, gkc] = both(kc, c.capacity, kv);
            auto [cvc, gvc] = both(vc, c.capacity, kv);
            ck.push_back(ckc);
            cv.push_back(cvc);
            gk.push_back(gkc);
            gv.push_back(gvc);
        }
        const auto q = random_f32(size_t(B * qw), ++s), k = random_f32(size_t(B * kv), ++s), v = random_f32(size_t(B * kv), ++s);
        Tensor gq = gpu->upload(q, B, qw), gkr = gpu->upload(k, B, kv);
        const Tensor gvr = gpu->upload(v, B, kv);
        std::vector<Tensor*> gkp, gvp;
        for (int64_t b = 0; b < B; ++b) {
            gkp.push_back(&gk[size_t(b)]);
            gvp.push_back(&gv[size_t(b)]);
        }
        const auto g = gpu->download(gpu->gqa_attention_rows(gq, gkr, gvr, rope, gkp, gvp, c.positions, d));
        for (int64_t b = 0; b < B; ++b) {
            SCOPED_TRACE("row " + std::to_string(b) + " at " + std::to_string(c.positions[size_t(b)]));
            Tensor cq = cpu.upload(std::span(q).subspan(size_t(b * qw), size_t(qw)), 1, qw);
            Tensor ckr = cpu.upload(std::span(k).subspan(size_t(b * kv), size_t(kv)), 1, kv);
            const Tensor cvr = cpu.upload(std::span(v).subspan(size_t(b * kv), size_t(kv)), 1, kv);
            const auto r = cpu.download(cpu.gqa_attention_from_projections(cq, ckr, cvr, rope, ck[size_t(b)], cv[size_t(b)],
                                                                           c.positions[size_t(b)], d));
            const std::vector<float> got(g.begin() + b * qw, g.begin() + (b + 1) * qw);
            EXPECT_TRUE(close(got, r, kNmseF32));
            EXPECT_TRUE(close(gpu->download(gk[size_t(b)]), cpu.download(ck[size_t(b)]), kNmseF32)) << "k cache";
            EXPECT_EQ(gpu->download(gv[size_t(b)]), cpu.download(cv[size_t(b)])) << "v cache";
        }
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// causal_softmax_bf16 against a CPU twin in double: rows held in registers (S <= 4096, three
// register sizes) and the three-pass kernel beyond. Output bf16: NMSE <= kNmseBf16 (one bf16
// rounding). The masked scores are NaN: a masked key must come out exactly 0 (never read), the
// visible ones finite. Guard words after the output must stay as written.
TEST_F(CudaAttention, CausalSoftmaxMatchesCpu) {
    struct Case { int64_t H, T, S, start; };
    const Case cases[] = {{2, 5, 5, 0},     {3, 40, 300, 260}, {2, 17, 1500, 1483},
                          {1, 9, 4096, 4087}, {2, 3, 5000, 4997}, {1, 4, 5000, 100}};
    constexpr int64_t kGuard = 64;
    constexpr uint16_t kGuardWord = 0xABAB;
    const float scale = 0.125f;
    for (const Case& c : cases) {
        SCOPED_TRACE("H " + std::to_string(c.H) + " T " + std::to_string(c.T) + " S " + std::to_string(c.S));
        const int64_t n = c.H * c.T * c.S;
        std::vector<float> sc = random_f32(size_t(n), ++seed, -8.0f, 8.0f);
        std::vector<float> ref(size_t(n), 0.0f);
        for (int64_t r = 0; r < c.H * c.T; ++r) {
            const int64_t t = r % c.T, visible = std::min(c.start + t + 1, c.S);
            float* row = sc.data() + r * c.S;
            double m = -std::numeric_limits<double>::infinity(), sum = 0.0;
            for (int64_t j = 0; j < visible; ++j) m = std::max(m, double(row[j]) * scale);
            for (int64_t j = 0; j < visible; ++j) sum += std::exp(double(row[j]) * scale - m);
            for (int64_t j = 0; j < visible; ++j) ref[size_t(r * c.S + j)] = float(std::exp(double(row[j]) * scale - m) / sum);
            for (int64_t j = visible; j < c.S; ++j) row[j] = std::numeric_limits<float>::quiet_NaN();
        }
        const Tensor scores = gpu->upload(sc, c.H * c.T, c.S);
        cuda::DeviceBuffer out(size_t(n + kGuard) * 2, "softmax test output");
        ASSERT_EQ(cudaMemsetAsync(out.get(), 0xAB, out.bytes(), gpu->stream()), cudaSuccess);
        ASSERT_EQ(kernels::causal_softmax_bf16(cuda::f32(scores), c.H, c.T, c.S, c.start, scale, out.as<uint16_t>(),
                                               gpu->stream()),
                  cudaSuccess);
        std::vector<uint16_t> bits(size_t(n + kGuard));
        ASSERT_EQ(cudaMemcpyAsync(bits.data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost, gpu->stream()), cudaSuccess);
        ASSERT_EQ(cudaStreamSynchronize(gpu->stream()), cudaSuccess);
        std::vector<float> got(static_cast<size_t>(n));
        int64_t masked_nonzero = 0, visible_nonfinite = 0;
        for (int64_t i = 0; i < n; ++i) {
            uint32_t w = uint32_t(bits[size_t(i)]) << 16;
            std::memcpy(&got[size_t(i)], &w, 4);
            const int64_t r = i / c.S, j = i % c.S, visible = std::min(c.start + r % c.T + 1, c.S);
            if (j >= visible && bits[size_t(i)] != 0) ++masked_nonzero;
            if (j < visible && !std::isfinite(got[size_t(i)])) ++visible_nonfinite;
        }
        EXPECT_EQ(masked_nonzero, 0);
        EXPECT_EQ(visible_nonfinite, 0);
        for (int64_t g = 0; g < kGuard; ++g) EXPECT_EQ(bits[size_t(n + g)], kGuardWord) << "guard word " << g;
        EXPECT_TRUE(close(got, ref, kNmseBf16));
    }
}

}  // namespace
}  // namespace moe::test
