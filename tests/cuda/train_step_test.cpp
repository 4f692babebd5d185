// The whole CUDA training step against the CPU reference: the same tiny DeepSeek-V3 (MTP, balance
// loss, packed samples) or Qwen2 from scratch on both backends, masters rounded to bf16 first so
// both multiply by the same weights; one step without update, then one AdamW step.
// Tolerances (bf16 activations into the tensor cores, f32 accumulation): losses 2e-3 relative,
// every gradient tensor NMSE <= 1e-3, expert loads identical, parameters after the AdamW step
// within 1e-3 · lr of each other wherever the gradient is clearly non-zero; for the full model,
// whose routing has near-ties, see the test's own comment.
//
// Router near-ties: rounding activations to bf16 moves router scores by ~1e-3 relative, so a token
// whose top-k boundary is closer than that may pick another expert on the GPU, and the whole step
// then differs (loads, those experts' gradients, the losses downstream). The LoRA variant therefore
// routes every token to every expert (4 of 4, one group): no selection can flip, the routing
// weights still depend on the scores, and each expert's LoRA GEMMs run over every row — the LoRA
// path is compared exactly, with nothing excluded. (A routing-margin search that perturbed only
// the adapters did not bound the GPU's rounding of the frozen path's activations: selections
// flipped in layers 1-3 and hid whether the gradients' gap was the flips alone.) The full variant
// keeps top-2 of 8 in groups and bounds its flips instead, see the test's own comment.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <random>

#include "core/dtype.h"
#include "cuda_test_util.h"
#include "train/trainable_source.h"
#include "train/trainer.h"

namespace moe::test {
namespace {

using namespace moe::train;

ModelConfig tiny_v3() {
    ModelConfig c;
    c.arch = Architecture::DeepseekV3;
    c.model_type = "deepseek_v3";
    c.vocab_size = 96;
    c.hidden_size = 64;
    c.intermediate_size = 96;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 4;
    c.max_position_embeddings = 256;
    c.q_lora_rank = 32;
    c.kv_lora_rank = 32;
    c.qk_nope_head_dim = 16;
    c.qk_rope_head_dim = 8;
    c.v_head_dim = 16;
    c.head_dim = 8;
    c.n_routed_experts = 8;
    c.n_shared_experts = 1;
    c.num_experts_per_tok = 2;
    c.moe_intermediate_size = 32;
    c.first_k_dense_replace = 1;
    c.n_group = 4;
    c.topk_group = 2;
    c.norm_topk_prob = true;
    c.routed_scaling_factor = 2.5;
    c.num_nextn_predict_layers = 1;
    return c;
}

// The LoRA variant's routing: every token to every expert, so that no selection can flip.
ModelConfig every_expert(ModelConfig c) {
    c.n_routed_experts = 4;
    c.num_experts_per_tok = 4;
    c.n_group = 1;
    c.topk_group = 1;
    return c;
}

MicroBatch batch(int64_t vocab) {
    std::mt19937 rng(11);
    MicroBatch b;
    b.n_seq = 2;
    b.seq_len = 40;
    for (int64_t r = 0; r < 80; ++r) b.tokens.push_back(int32_t(rng() % vocab));
    for (int64_t r = 0; r < 80; ++r) {
        const int64_t i = r % 40, start = i >= 25 ? 25 : 0;  // two samples per sequence
        b.seg_start.push_back(int32_t(start));
        b.positions.push_back(int32_t(i - start));
        b.targets.push_back(i == 24 || i == 39 ? -1 : b.tokens[size_t(r + 1)]);
    }
    return b;
}

struct Side {
    std::unique_ptr<ParameterStore> params;
    std::unique_ptr<TrainGraph> graph;
    std::unique_ptr<Trainer> trainer;
};

Side make(Backend& be, const ModelConfig& c, bool lora, uint64_t init_seed) {
    Side s;
    s.params = std::make_unique<ParameterStore>(be);
    TrainableSpec spec;
    spec.config = c;
    spec.init_seed = init_seed;
    if (lora) {
        spec.trainable = [](const std::string&) { return false; };
        spec.lora.rank = 4;
        spec.lora.alpha = 8;
        spec.lora.seed = 3;
    }
    s.graph = make_train_graph(spec, *s.params, {});
    // bf16-exact masters (and non-zero LoRA B) on both sides
    std::mt19937 rng(2);
    for (Parameter* p : s.params->parameters()) {
        std::vector<float> v = be.download(p->value);
        for (float& x : v) {
            if (p->name.find("lora_B") != std::string::npos) x = float(int(rng() % 200) - 100) / 800.0f;
            x = bf16_to_f32(f32_to_bf16(x));
        }
        be.zero(p->value);
        be.scale_add(p->value, be.upload(v, p->rows(), p->cols()), 1.0f);
    }
    s.params->refresh_weights();
    s.trainer = std::make_unique<Trainer>(*s.graph, *s.params, Objectives{0.3f, 0.01f, 1e-3f},
                                          AdamWConfig{1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1.0f});
    return s;
}

// The premise of the LoRA variant, on the CPU (no GPU needed): every MoE layer, the MTP module's
// included, gives every expert every token, so no selection is left for bf16 rounding to flip.
TEST(CudaTrainStepModel, TheLoraVariantRoutesEveryTokenToEveryExpert) {
    CpuBackend cpu_be;
    const MicroBatch b = batch(96);
    Side s = make(cpu_be, every_expert(tiny_v3()), true, 5);
    const StepResult r = s.trainer->step({b}, 1e-3f, Trainer::Updates{false, false});
    ASSERT_EQ(r.balance.size(), 3u);  // layers 1 and 2, and the MTP module's layer 3
    for (const auto& [layer, bal] : r.balance) {
        ASSERT_EQ(bal.load.size(), 4u) << "layer " << layer;
        for (int64_t load : bal.load) EXPECT_EQ(load, layer == 3 ? 78 : 80) << "layer " << layer;
    }
    EXPECT_TRUE(std::isfinite(r.total));
}

// Sum over experts of |load difference|: twice the selections that flipped.
int64_t load_difference(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    int64_t d = 0;
    for (size_t e = 0; e < std::max(a.size(), b.size()); ++e)
        d += std::abs((e < a.size() ? a[e] : 0) - (e < b.size() ? b[e] : 0));
    return d;
}

class CudaTrainStep : public CudaTest, public ::testing::WithParamInterface<bool> {};

// LoRA (every expert selected): loads identical, losses 2e-3, every gradient NMSE 1e-3. Full from
// scratch (near-ties): at most 2 flipped selections per MoE layer (of 160); the routed experts of
// a layer with a flip are not compared (their rows differ), the rest as above with losses, norm
// and gradients at 5e-3 (a flipped token changes what flows downstream of it in the forward, and
// upstream of it in the backward: a flip in the MTP layer reached layer 1's q_a_proj at NMSE
// 1.05e-3 on an H100).
TEST_P(CudaTrainStep, MatchesTheCpuReference) {
    const bool lora = GetParam();
    const MicroBatch b = batch(96);
    const ModelConfig config = lora ? every_expert(tiny_v3()) : tiny_v3();
    Side c = make(cpu, config, lora, 5), g = make(*gpu, config, lora, 5);
    const StepResult rc = c.trainer->step({b}, 1e-3f, Trainer::Updates{false, false});
    const StepResult rg = g.trainer->step({b}, 1e-3f, Trainer::Updates{false, false});
    std::set<std::string> flipped;  // "model.layers.L.mlp.experts." of layers with a flipped selection
    for (const auto& [layer, bal] : rc.balance) {
        const int64_t d = load_difference(rg.balance.at(layer).load, bal.load);
        EXPECT_LE(d, lora ? 0 : 4) << "layer " << layer << ": " << d / 2 << " selections differ";
        if (d > 0) flipped.insert("model.layers." + std::to_string(layer) + ".mlp.experts.");
        if (d > 0) std::printf("layer %ld: %ld selection(s) flipped at near-ties\n", long(layer), long(d / 2));
    }
    const double loss_tol = flipped.empty() ? 2e-3 : 5e-3;
    for (auto [name, x, y] : {std::tuple{"ce", rc.ce, rg.ce}, {"l_mtp", rc.l_mtp, rg.l_mtp}, {"l_bal", rc.l_bal, rg.l_bal},
                              {"total", rc.total, rg.total}, {"grad_norm", rc.grad_norm, rg.grad_norm}})
        EXPECT_NEAR(y, x, loss_tol * std::abs(x)) << name;
    auto compared = [&](const std::string& name) {
        for (const std::string& prefix : flipped)
            if (name.rfind(prefix, 0) == 0) return false;
        return true;
    };
    const auto pc = c.params->parameters(), pg = g.params->parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (size_t i = 0; i < pc.size(); ++i) {
        ASSERT_EQ(pc[i]->name, pg[i]->name);
        if (compared(pc[i]->name)) {
            EXPECT_TRUE(close(gpu->download(pg[i]->grad), cpu.download(pc[i]->grad), flipped.empty() ? 1e-3 : 5e-3))
                << pc[i]->name;
        }
    }
    // one AdamW step from the same state
    c.trainer->step({b}, 1e-3f);
    g.trainer->step({b}, 1e-3f);
    for (size_t i = 0; i < pc.size(); ++i) {
        if (!compared(pc[i]->name)) continue;
        const std::vector<float> vc = cpu.download(pc[i]->value), vg = gpu->download(pg[i]->value),
                                 gc = cpu.download(pc[i]->grad);
        float scale = 0.0f;
        for (float x : gc) scale = std::max(scale, std::abs(x));
        // The first AdamW step moves each element by about lr · sign(g): compare where the two
        // gradients clearly agree (a sign decided by rounding would move it 2·lr apart).
        const std::vector<float> gg = gpu->download(pg[i]->grad);
        for (size_t k = 0; k < vc.size(); ++k)
            if (std::abs(gc[k]) > 1e-2f * scale && std::abs(gc[k]) > 10.0f * std::abs(gc[k] - gg[k])) {
                ASSERT_NEAR(vg[k], vc[k], 1e-6f + 1e-3f * 1e-3f) << pc[i]->name << "[" << k << "]";
            }
    }
    EXPECT_EQ(gpu->damaged_guards(), 0);
}

INSTANTIATE_TEST_SUITE_P(FullAndLora, CudaTrainStep, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "lora" : "full"; });

}  // namespace
}  // namespace moe::test
