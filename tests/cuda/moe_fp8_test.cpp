// CUDA fp8 routed experts (engine/cuda/cuda_fp8_experts.cpp, kernels/moe_fp8.cu, the fp8 prefill in
// cuda_moe.cpp) vs the CPU reference, which reads the same e4m3 bytes and block scales as f32
// (WeightMatrix). Decode keeps f32 activations and exact fp8 values (scale applied per 16-byte
// chunk's sum), so its tolerance is kNmseF32; prefill and training round weights and activations to
// bf16 for the tensor cores (kNmseBf16).
#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "cuda/cuda_check.h"
#include "cuda_test_util.h"
#include "io/checkpoint.h"

namespace moe::test {
namespace {

// One matrix as an fp8 checkpoint stores it: e4m3 codes [rows, cols] and f32 scale_inv blocks.
struct StoredFp8 {
    std::vector<uint8_t> codes;
    std::vector<float> scales;
    TensorInfo weight, scale;
};

// Every expert's gate, up and down, stored fp8 (as a checkpoint lays them out).
struct StoredExperts {
    std::vector<StoredFp8> mats;  // 3 per expert; stable addresses (reserved)
    std::vector<WeightMatrix> matrices() const {
        std::vector<WeightMatrix> out;
        for (const StoredFp8& m : mats) out.emplace_back(&m.weight, &m.scale, br, bc);
        return out;
    }
    int64_t br = 128, bc = 128;
};

void store_fp8(StoredFp8& m, const std::string& name, int64_t rows, int64_t cols, int64_t br, int64_t bc,
               std::mt19937_64& rng) {
    std::uniform_real_distribution<float> code(-448.0f, 448.0f), scale(0.5f, 1.5f);
    m.codes.resize(size_t(rows * cols));
    for (uint8_t& c : m.codes) c = f32_to_fp8_e4m3(code(rng));
    const int64_t nbr = (rows + br - 1) / br, nbc = (cols + bc - 1) / bc;
    m.scales.resize(size_t(nbr * nbc));
    for (float& s : m.scales) s = 0.1f / 448.0f * scale(rng);  // weights within about ±0.15
    m.weight = TensorInfo{name, DType::F8_E4M3, {rows, cols}, m.codes.data(), m.codes.size(), "test"};
    m.scale = TensorInfo{name + "_scale_inv", DType::F32, {nbr, nbc}, reinterpret_cast<const uint8_t*>(m.scales.data()),
                         m.scales.size() * 4, "test"};
}

StoredExperts stored_experts(int64_t E, int64_t H, int64_t I, int64_t br, int64_t bc, uint64_t seed) {
    StoredExperts s;
    s.br = br;
    s.bc = bc;
    s.mats.resize(size_t(3 * E));
    std::mt19937_64 rng(seed);
    for (int64_t e = 0; e < E; ++e) {
        const std::string p = "experts." + std::to_string(e);
        store_fp8(s.mats[size_t(3 * e)], p + ".gate_proj.weight", I, H, br, bc, rng);
        store_fp8(s.mats[size_t(3 * e + 1)], p + ".up_proj.weight", I, H, br, bc, rng);
        store_fp8(s.mats[size_t(3 * e + 2)], p + ".down_proj.weight", H, I, br, bc, rng);
    }
    return s;
}

// Distinct experts per token and positive weights, as a router gives.
std::vector<int32_t> random_ids(int64_t T, int64_t E, int64_t K, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int32_t> all(static_cast<size_t>(E));
    std::vector<int32_t> ids;
    std::iota(all.begin(), all.end(), 0);
    for (int64_t t = 0; t < T; ++t) {
        std::shuffle(all.begin(), all.end(), rng);
        ids.insert(ids.end(), all.begin(), all.begin() + K);
    }
    return ids;
}

using CudaMoeFp8 = CudaTest;

// Decode (T <= 2: the fused fp8 kernels) and prefill (per-expert bf16 dequantisation + GEMMs) over
// block grids that fit the shapes exactly, cut them (inter 32 under 128-row blocks: the tiny
// fixture's shape) or are small and uneven (32 x 16).
TEST_F(CudaMoeFp8, ExpertsMatchCpu) {
    struct Case { int64_t T, E, K, H, I, br, bc; double tol; };
    const Case cases[] = {{1, 16, 4, 256, 128, 128, 128, kNmseF32}, {2, 16, 4, 128, 32, 128, 128, kNmseF32},
                          {1, 8, 2, 96, 48, 32, 16, kNmseF32},      {2, 64, 6, 2048, 1408, 128, 128, kNmseF32},
                          {40, 16, 4, 256, 128, 128, 128, kNmseBf16}, {13, 8, 2, 96, 48, 32, 16, kNmseBf16}};
    uint64_t s = seed;
    for (const Case& c : cases) {
        SCOPED_TRACE("T " + std::to_string(c.T) + " H " + std::to_string(c.H) + " I " + std::to_string(c.I) +
                     " blocks " + std::to_string(c.br) + "x" + std::to_string(c.bc));
        const StoredExperts stored = stored_experts(c.E, c.H, c.I, c.br, c.bc, ++s);
        const ExpertSet cset = cpu.load_expert_set(stored.matrices()), gset = gpu->load_expert_set(stored.matrices());
        ASSERT_TRUE(cuda::expert_storage(gset).fp8()) << "the shapes suit the fp8 kernels: the set must stay fp8";
        const auto ids = random_ids(c.T, c.E, c.K, ++s);
        const auto w = random_f32(size_t(c.T * c.K), ++s, 0.05f, 1.0f);
        const RouterOutput cr{cpu.upload_i32(ids, c.T, c.K), cpu.upload(w, c.T, c.K)};
        const RouterOutput gr{gpu->upload_i32(ids, c.T, c.K), gpu->upload(w, c.T, c.K)};
        auto [cx, gx] = both(random_f32(size_t(c.T * c.H), ++s), c.T, c.H);
        EXPECT_TRUE(close(gpu->download(gpu->moe_experts(gx, gr, gset)), cpu.download(cpu.moe_experts(cx, cr, cset)), c.tol));
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

// moe_block at decode: router, fp8 routed experts and the bf16 shared expert in the fused kernels.
TEST_F(CudaMoeFp8, BlockWithSharedExpertMatchesCpu) {
    const int64_t E = 16, K = 4, H = 256, I = 128, shared_I = 256;
    uint64_t s = seed;
    const StoredExperts stored = stored_experts(E, H, I, 128, 128, ++s);
    const ExpertSet cset = cpu.load_expert_set(stored.matrices()), gset = gpu->load_expert_set(stored.matrices());
    auto [csg, gsg] = both_weights(random_bf16_exact(size_t(shared_I * H), ++s, -0.1f, 0.1f), shared_I, H);
    auto [csu, gsu] = both_weights(random_bf16_exact(size_t(shared_I * H), ++s, -0.1f, 0.1f), shared_I, H);
    auto [csd, gsd] = both_weights(random_bf16_exact(size_t(H * shared_I), ++s, -0.1f, 0.1f), H, shared_I);
    const FfnWeights cshared{csg, csu, csd}, gshared{gsg, gsu, gsd};
    auto [cgate, ggate] = both_weights(random_bf16_exact(size_t(E * H), ++s, -0.1f, 0.1f), E, H);
    RouterParams p;
    p.n_experts = E;
    p.top_k = K;
    p.norm_topk_prob = true;
    for (int64_t T : {1, 2}) {
        auto [cx, gx] = both(random_f32(size_t(T * H), ++s), T, H);
        RouterOutput cr, gr;
        const auto g = gpu->download(gpu->moe_block(gx, ggate, nullptr, p, gset, &gshared, gr));
        const auto r = cpu.download(cpu.moe_block(cx, cgate, nullptr, p, cset, &cshared, cr));
        EXPECT_EQ(gpu->download_i32(gr.expert_ids), cpu.download_i32(cr.expert_ids)) << "T " << T;
        EXPECT_TRUE(close(g, r, kNmseF32)) << "T " << T;
    }
}

// Training reads a bf16 copy of the fp8 set, made once and counted in the weight bytes.
TEST_F(CudaMoeFp8, TrainingForwardUsesABf16Copy) {
    const int64_t T = 24, E = 8, K = 2, H = 128, I = 64;
    uint64_t s = seed;
    const StoredExperts stored = stored_experts(E, H, I, 128, 128, ++s);
    const ExpertSet cset = cpu.load_expert_set(stored.matrices()), gset = gpu->load_expert_set(stored.matrices());
    const size_t before = gpu->weight_bytes();
    const auto ids = random_ids(T, E, K, ++s);
    const auto w = random_f32(size_t(T * K), ++s, 0.05f, 1.0f);
    const RouterOutput cr{cpu.upload_i32(ids, T, K), cpu.upload(w, T, K)};
    const RouterOutput gr{gpu->upload_i32(ids, T, K), gpu->upload(w, T, K)};
    auto [cx, gx] = both(random_f32(size_t(T * H), ++s), T, H);
    // 2 × kNmseBf16: besides the activations, the bf16 copy rounds the dequantised weights (e4m3 ×
    // an f32 block scale is not bf16-exact), which the CPU multiplies unrounded; seed
    // 8010726375934535287 gave NMSE 3.18e-5 with either grouped GEMM kernel (H100, 2026-12-07).
    EXPECT_TRUE(close(gpu->download(gpu->moe_experts_train(gx, gr, gset, nullptr)),
                      cpu.download(cpu.moe_experts(cx, cr, cset)), 2 * kNmseBf16));
    EXPECT_EQ(gpu->weight_bytes() - before, size_t(3 * E * H * I * 2)) << "the bf16 copy is counted once";
}

// Shapes the 16-byte-chunk kernels cannot take (8-column blocks), and MOE_FP8_EXPERTS=0, load as
// bf16 (the dequantised values rounded once): same outputs within the bf16 tolerance.
TEST_F(CudaMoeFp8, UnsuitedShapesAndTheSwitchFallBackToBf16) {
    const int64_t T = 1, E = 8, K = 2, H = 64, I = 32;
    uint64_t s = seed;
    for (const bool switch_off : {false, true}) {
        if (switch_off) setenv("MOE_FP8_EXPERTS", "0", 1);
        const StoredExperts stored = stored_experts(E, H, I, 16, switch_off ? 16 : 8, ++s);
        const ExpertSet cset = cpu.load_expert_set(stored.matrices()), gset = gpu->load_expert_set(stored.matrices());
        unsetenv("MOE_FP8_EXPERTS");
        EXPECT_FALSE(cuda::expert_storage(gset).fp8()) << (switch_off ? "MOE_FP8_EXPERTS=0" : "8-column blocks");
        const auto ids = random_ids(T, E, K, ++s);
        const auto w = random_f32(size_t(T * K), ++s, 0.05f, 1.0f);
        const RouterOutput cr{cpu.upload_i32(ids, T, K), cpu.upload(w, T, K)};
        const RouterOutput gr{gpu->upload_i32(ids, T, K), gpu->upload(w, T, K)};
        auto [cx, gx] = both(random_f32(size_t(T * H), ++s), T, H);
        EXPECT_TRUE(close(gpu->download(gpu->moe_experts(gx, gr, gset)), cpu.download(cpu.moe_experts(cx, cr, cset)),
                          kNmseBf16));
    }
}

// The checkpoint's other fp8 matrices (attention, shared experts, dense layers, head) are copied
// as stored and dequantised on the device at load: bit for bit the host path's bf16 (WeightMatrix's
// f32 values rounded once), for a shape cut by its blocks (300 × 272 under 128 × 128) and small
// blocks; a matrix the kernel does not take (8-column blocks) still converts on the host, the same.
TEST_F(CudaMoeFp8, DenseWeightsDequantisedOnTheDeviceMatchTheHostPath) {
    struct Case {
        int64_t rows, cols, br, bc;
    };
    std::mt19937_64 rng(seed);
    for (const Case c : {Case{300, 272, 128, 128}, Case{96, 64, 16, 16}, Case{40, 24, 16, 8}}) {
        SCOPED_TRACE(std::to_string(c.rows) + " x " + std::to_string(c.cols) + ", blocks " + std::to_string(c.br) +
                     " x " + std::to_string(c.bc));
        StoredFp8 m;
        store_fp8(m, "model.layers.0.self_attn.o_proj.weight", c.rows, c.cols, c.br, c.bc, rng);
        const WeightMatrix matrix(&m.weight, &m.scale, c.br, c.bc);
        const Weight w = gpu->load_weight(matrix);
        std::vector<uint16_t> got(size_t(c.rows * c.cols));
        MOE_CUDA_CHECK(cudaMemcpy(got.data(), cuda::weight_storage(w).data.get(), got.size() * 2, cudaMemcpyDeviceToHost));
        std::vector<float> f(got.size());
        matrix.rows_f32(0, c.rows, f.data());
        size_t differ = 0;
        for (size_t i = 0; i < f.size(); ++i) differ += got[i] != f32_to_bf16(f[i]);
        EXPECT_EQ(differ, 0u) << "bf16 values that differ from the host path's";
    }
}

}  // namespace
}  // namespace moe::test
