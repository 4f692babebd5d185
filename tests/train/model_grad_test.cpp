// The whole training graph against finite differences of its own total loss, on tiny models built
// from scratch on the CPU: for every trainable tensor (full fine-tune) or adapter (LoRA), the
// directional derivative of Total = CE + L_MTP + L_bal along a random ±1 direction,
// (L(θ + h d) − L(θ − h d)) / 2h in float64, against g · d from the backward. Samples whose ±h
// changes an expert selection are skipped (the loss is piecewise smooth).
// Tolerance: |g·d − fd| <= 1e-2 · |fd| + 3e-4 · sqrt(n) (measured noise: 0.35% and 1.3e-4 · sqrt(n)).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"
#include "train/trainable_source.h"
#include "train/trainer.h"

namespace moe::test {
namespace {

using namespace moe::train;

ModelConfig tiny_v3(bool mtp) {
    ModelConfig c;
    c.arch = Architecture::DeepseekV3;
    c.model_type = "deepseek_v3";
    c.vocab_size = 48;
    c.hidden_size = 24;
    c.intermediate_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-6;
    c.q_lora_rank = 16;
    c.kv_lora_rank = 12;
    c.qk_nope_head_dim = 8;
    c.qk_rope_head_dim = 4;
    c.v_head_dim = 6;
    c.head_dim = 4;
    c.n_routed_experts = 8;
    c.n_shared_experts = 1;
    c.num_experts_per_tok = 2;
    c.moe_intermediate_size = 8;
    c.first_k_dense_replace = 1;
    c.n_group = 4;
    c.topk_group = 2;
    c.scoring_func = ScoringFunc::Sigmoid;
    c.topk_method = TopkMethod::NoauxTc;
    c.norm_topk_prob = true;
    c.routed_scaling_factor = 2.5;
    c.num_nextn_predict_layers = mtp ? 2 : 0;  // two modules: the chained hidden state is exercised
    c.rope.type = "yarn";
    c.rope.factor = 2.0;
    c.rope.original_max_position_embeddings = 32;
    c.rope.mscale = 1.0;
    c.rope.mscale_all_dim = 1.0;
    return c;
}

ModelConfig tiny_v2() {
    ModelConfig c = tiny_v3(false);
    c.arch = Architecture::DeepseekV2;
    c.model_type = "deepseek_v2";
    c.q_lora_rank = 0;
    c.scoring_func = ScoringFunc::Softmax;
    c.topk_method = TopkMethod::Greedy;
    c.n_group = 1;
    c.topk_group = 1;
    c.norm_topk_prob = false;
    c.routed_scaling_factor = 1.0;
    c.rope = RopeConfig{};
    return c;
}

ModelConfig tiny_qwen2() {
    ModelConfig c;
    c.arch = Architecture::Qwen2;
    c.model_type = "qwen2";
    c.vocab_size = 40;
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 4;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-6;
    c.qkv_bias = true;
    c.tie_word_embeddings = true;
    c.rope.interleaved = false;
    return c;
}

// Two packed sequences of 10 rows: sequence 0 holds two samples (rows 0..5, 6..9; the first token
// of the second sample is no target of the first), sequence 1 one sample with a masked prompt.
MicroBatch packed_batch(int64_t vocab) {
    std::mt19937 rng(5);
    MicroBatch b;
    b.n_seq = 2;
    b.seq_len = 10;
    for (int64_t r = 0; r < 20; ++r) b.tokens.push_back(int32_t(rng() % vocab));
    for (int64_t r = 0; r < 20; ++r) {
        const int64_t i = r % 10, s = r / 10;
        const int64_t start = s == 0 && i >= 6 ? 6 : 0;
        b.seg_start.push_back(int32_t(start));
        b.positions.push_back(int32_t(i - start));
        const bool last_of_sample = (s == 0 && (i == 5 || i == 9)) || (s == 1 && i == 9);
        const bool prompt = s == 1 && i < 3;
        b.targets.push_back(last_of_sample || prompt ? -1 : b.tokens[size_t(r + 1)]);
    }
    return b;
}

struct Setup {
    CpuBackend cpu;
    std::unique_ptr<ParameterStore> params;
    std::unique_ptr<TrainGraph> graph;
    std::unique_ptr<Trainer> trainer;
};

std::unique_ptr<Setup> make_setup(const ModelConfig& c, LoraSpec lora, bool full, Objectives obj) {
    auto s = std::make_unique<Setup>();
    s->params = std::make_unique<ParameterStore>(s->cpu);
    TrainableSpec spec;
    spec.config = c;
    spec.init_seed = 17;
    spec.lora = lora;
    if (!full) spec.trainable = [](const std::string&) { return false; };
    s->graph = make_train_graph(spec, *s->params, {});
    s->trainer = std::make_unique<Trainer>(*s->graph, *s->params, obj, AdamWConfig{});
    return s;
}

// Total loss and the loads (to detect selection changes) without updating anything.
std::pair<double, std::map<int64_t, std::vector<int64_t>>> evaluate(Setup& s, const MicroBatch& b) {
    const StepResult r = s.trainer->step({b}, 0.0f, Trainer::Updates{false, false});
    std::map<int64_t, std::vector<int64_t>> loads;
    for (const auto& [l, bal] : r.balance) {
        loads[l] = bal.load;
        loads[l].push_back(int64_t(bal.selection_hash));  // a swap of experts between tokens counts as a change
    }
    return {r.total, loads};
}

void check_all_parameters(Setup& s, const MicroBatch& b, const std::string& what) {
    const StepResult base = s.trainer->step({b}, 0.0f, Trainer::Updates{false, false});
    // Copy the analytic gradients first: every later step() overwrites them.
    std::map<std::string, std::vector<float>> grads;
    for (const Parameter* p : s.params->parameters()) grads[p->name] = s.cpu.download(p->grad);
    std::mt19937 rng(3);
    int checked = 0, skipped = 0;
    for (Parameter* p : s.params->parameters()) {
        float* v = cpu::f32(p->value);
        const int64_t n = p->numel();
        std::vector<float> dir(static_cast<size_t>(n));
        for (float& d : dir) d = (rng() & 1) ? 1.0f : -1.0f;
        double gd = 0.0;
        for (int64_t i = 0; i < n; ++i) gd += double(grads[p->name][size_t(i)]) * dir[size_t(i)];
        const std::vector<float> saved(v, v + n);
        const double h = 1e-3;
        for (int64_t i = 0; i < n; ++i) v[i] = saved[size_t(i)] + float(h) * dir[size_t(i)];
        const auto plus = evaluate(s, b);
        for (int64_t i = 0; i < n; ++i) v[i] = saved[size_t(i)] - float(h) * dir[size_t(i)];
        const auto minus = evaluate(s, b);
        std::copy(saved.begin(), saved.end(), v);
        if (plus.second != minus.second) {
            ++skipped;
            continue;
        }
        // the step actually applied to each element (f32 rounding of x ± h)
        double fd = (plus.first - minus.first) / (2.0 * h);
        EXPECT_LE(std::abs(gd - fd), 1e-2 * std::abs(fd) + 3e-4 * std::sqrt(double(n)))
            << what << " " << p->name << " [" << p->rows() << ", " << p->cols() << "]: g·d " << gd << " vs fd " << fd;
        ++checked;
    }
    EXPECT_GT(checked, 4 * skipped) << what << ": too many directions changed an expert selection";
    EXPECT_GT(checked, 0) << what;
    EXPECT_TRUE(std::isfinite(base.total));
}

TEST(ModelGrad, DeepseekV3FullWithMtpAndBalanceLoss) {
    auto s = make_setup(tiny_v3(true), LoraSpec{}, true, Objectives{0.3f, 0.05f, 0.0f});
    EXPECT_EQ(s->graph->mtp_depth(), 2);
    check_all_parameters(*s, packed_batch(48), "v3");
}

TEST(ModelGrad, DeepseekV2SoftmaxFull) {
    auto s = make_setup(tiny_v2(), LoraSpec{}, true, Objectives{0.0f, 0.05f, 0.0f});
    check_all_parameters(*s, packed_batch(48), "v2");
}

TEST(ModelGrad, Qwen2FullTiedEmbeddings) {
    auto s = make_setup(tiny_qwen2(), LoraSpec{}, true, Objectives{});
    check_all_parameters(*s, packed_batch(40), "qwen2");
}

// LoRA on attention, shared and routed experts with dropout; B starts at zero (the adapted model
// equals the base), so give B values first or A would get no gradient.
TEST(ModelGrad, LoraAdaptersOnAttentionSharedAndRoutedExperts) {
    LoraSpec lora;
    lora.rank = 2;
    lora.alpha = 4.0f;
    lora.dropout = 0.2f;
    lora.seed = 9;
    auto s = make_setup(tiny_v3(true), lora, false, Objectives{0.3f, 0.05f, 0.0f});
    int adapters = 0;
    std::mt19937 rng(1);
    for (Parameter* p : s->params->parameters()) {
        EXPECT_TRUE(p->is_lora) << p->name << " should be frozen";
        float* v = cpu::f32(p->value);
        if (p->name.find("lora_B") != std::string::npos)
            for (int64_t i = 0; i < p->numel(); ++i) v[i] = float(int(rng() % 200) - 100) / 400.0f;
        ++adapters;
    }
    EXPECT_GT(adapters, 20);
    check_all_parameters(*s, packed_batch(48), "lora");
}

// Freezing: only the MTP modules train; the trunk gets no gradient tensor at all.
TEST(ModelGrad, MtpHeadOnlyFreezesTheTrunk) {
    CpuBackend cpu;
    ParameterStore params(cpu);
    TrainableSpec spec;
    spec.config = tiny_v3(true);
    spec.init_seed = 17;
    spec.trainable = [](const std::string& n) {
        return n.rfind("model.layers.2.", 0) == 0 || n.rfind("model.layers.3.", 0) == 0;
    };
    auto graph = make_train_graph(spec, params, {});
    for (const Parameter* p : params.parameters())
        EXPECT_TRUE(p->name.rfind("model.layers.2.", 0) == 0 || p->name.rfind("model.layers.3.", 0) == 0) << p->name;
    Trainer t(*graph, params, Objectives{0.3f, 0.0f, 0.0f}, AdamWConfig{});
    const StepResult r = t.step({packed_batch(48)}, 1e-3f);
    EXPECT_GT(r.grad_norm, 0.0);
}

// Activation recomputation gives the same gradients as keeping everything.
TEST(ModelGrad, CheckpointedLayersGiveIdenticalGradients) {
    auto run = [](bool checkpoint) {
        CpuBackend cpu;
        ParameterStore params(cpu);
        TrainableSpec spec;
        spec.config = tiny_v3(true);
        spec.init_seed = 17;
        GraphOptions opt;
        opt.checkpoint_layers = checkpoint;
        auto graph = make_train_graph(spec, params, opt);
        Trainer t(*graph, params, Objectives{0.3f, 0.05f, 0.0f}, AdamWConfig{});
        t.step({packed_batch(48)}, 0.0f, Trainer::Updates{false, false});
        std::vector<float> all;
        for (const Parameter* p : params.parameters()) {
            const std::vector<float> g = cpu.download(p->grad);
            all.insert(all.end(), g.begin(), g.end());
        }
        return all;
    };
    EXPECT_EQ(run(false), run(true));
}

}  // namespace
}  // namespace moe::test
