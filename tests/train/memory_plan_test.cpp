// engine/train/memory_plan: the tensor list against what the training graph really registers, the
// parameter counts, the FLOP formula's parts and the memory plan's persistent terms, on tiny models
// built on the CPU (from scratch, and from the HF fixtures' checkpoints for the optional tensors:
// the MTP layer's stored embed_tokens copy and shared head).
//   - a full fine-tune registers exactly the listed tensors (same total, every name trained);
//   - a LoRA run registers r·(in + out) per adapted projection, per routed expert too;
//   - matmul FLOPs are 6 (trained) or 4 (frozen) × 2·... : checked against sums over the store's
//     own parameters (routed experts at top_k/E), attention against its formula written out;
//   - the plan's persistent bytes follow the store (masters 4 B, gradients 4 B, moments 8 B,
//     compute copies 2 B per trained matrix element, frozen bf16 matrices 2 B, F32 vectors 4 B);
//     activations are linear in the sequences and smaller with checkpointed layers; kept expert
//     rows add their bf16 gate/up and output rows per MoE layer.
#include <gtest/gtest.h>

#include <set>

#include "cpu/cpu_backend.h"
#include "io/checkpoint.h"
#include "support/test_paths.h"
#include "train/memory_plan.h"
#include "train/train_graph.h"
#include "train/trainable_source.h"

namespace moe::test {
namespace {

using namespace moe::train;

ModelConfig fixture_config(const std::string& name) { return load_model_config(data_path("models/" + name)); }

struct Built {
    CpuBackend backend;
    ParameterStore params{backend};
    std::unique_ptr<TrainGraph> graph;
};

std::unique_ptr<Built> build(const TrainableSpec& spec) {
    auto b = std::make_unique<Built>();
    b->graph = make_train_graph(spec, b->params, {});
    return b;
}

TrainableSpec scratch(const ModelConfig& c) {
    TrainableSpec s;
    s.config = c;
    s.init_seed = 3;
    return s;
}

TrainableSpec lora_spec(const ModelConfig& c, int64_t rank) {
    TrainableSpec s = scratch(c);
    s.trainable = [](const std::string&) { return false; };
    s.lora.rank = rank;
    s.lora.alpha = 2.0f * float(rank);
    return s;
}

int64_t expert_share_numerator(const ModelConfig& c) { return c.num_experts_per_tok; }

TEST(MemoryPlan, FullFineTuneRegistersExactlyTheListedTensors) {
    for (const std::string name : {"deepseek-v3-tiny", "deepseek-v2-lite-tiny", "moonlight-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        for (bool from_checkpoint : {false, true}) {
            SCOPED_TRACE(from_checkpoint ? "checkpoint" : "from scratch");
            std::unique_ptr<Checkpoint> ck;
            TrainableSpec spec = scratch(fixture_config(name));
            if (from_checkpoint) {
                ck = Checkpoint::open(data_path("models/" + name));
                spec.checkpoint = ck.get();
            }
            auto b = build(spec);
            const std::vector<ModelTensor> tensors = model_tensors(spec);
            const ParameterCounts n = count_parameters(tensors, b->params);
            EXPECT_EQ(n.total, b->params.trainable_elements());
            EXPECT_EQ(n.trainable, n.total);
            EXPECT_EQ(n.lora, 0);
            std::set<std::string> names;
            for (const Parameter* p : b->params.parameters()) {
                names.insert(p->name);
                names.insert(p->aliases.begin(), p->aliases.end());
                for (const auto& s : p->slices) names.insert(s.name);
            }
            for (const ModelTensor& t : tensors) {
                if (!t.buffer) {
                    EXPECT_TRUE(names.count(t.name)) << t.name;
                }
            }
        }
    }
}

TEST(MemoryPlan, LoraAddsRankTimesInPlusOutPerAdaptedProjection) {
    const ModelConfig c = fixture_config("deepseek-v3-tiny");
    const TrainableSpec spec = lora_spec(c, 4);
    auto b = build(spec);
    const std::vector<ModelTensor> tensors = model_tensors(spec);
    int64_t expected = 0;
    for (const ModelTensor& t : tensors)
        if (!t.vector && spec.lora.applies_to(t.name)) expected += 4 * (t.rows + t.cols);
    ASSERT_GT(expected, 0);
    const ParameterCounts n = count_parameters(tensors, b->params);
    EXPECT_EQ(n.lora, expected);
    EXPECT_EQ(n.trainable, 0);
}

TEST(MemoryPlan, MatmulFlopsFollowTheStoresParameters) {
    ModelConfig c = fixture_config("deepseek-v3-tiny");
    c.num_nextn_predict_layers = 0;  // every matmul weight then multiplies the n_seq·T main rows
    const int64_t n_seq = 2, T = 8;
    const double rows = double(n_seq * T);
    const double share = double(expert_share_numerator(c)) / double(c.n_routed_experts);

    // full fine-tune: 6 · rows · active elements (matrices; stacked experts at top_k/E; no embedding lookup)
    {
        const TrainableSpec spec = scratch(c);
        auto b = build(spec);
        double active = 0;
        for (const Parameter* p : b->params.parameters()) {
            if (p->rows() == 1 || p->name == "model.embed_tokens.weight") continue;
            active += double(p->numel()) * (p->slices.empty() ? 1.0 : share);
        }
        const StepFlops f = training_step_flops(c, model_tensors(spec), b->params, n_seq, T);
        EXPECT_DOUBLE_EQ(f.matmul_trained, 6.0 * active * rows);
        EXPECT_EQ(f.matmul_frozen, 0.0);
        EXPECT_EQ(f.lora, 0.0);
        // 12 · H · (d_qk + d_v)/2 per causal pair, per layer and sequence
        const double pairs = double(T) * double(T + 1) / 2.0;
        EXPECT_DOUBLE_EQ(f.attention, double(c.num_hidden_layers) * 12.0 * double(c.num_attention_heads) *
                                          double(c.qk_head_dim() + c.v_head_dim) / 2.0 * double(n_seq) * pairs);
        // the frozen twin: the same weights at 4 instead of 6, and the adapters at 6
        const TrainableSpec lspec = lora_spec(c, 2);
        auto lb = build(lspec);
        double adapters = 0;
        for (const Parameter* p : lb->params.parameters())
            adapters += double(p->numel()) * (p->name.find(".experts.") != std::string::npos ? share : 1.0);
        const StepFlops lf = training_step_flops(c, model_tensors(lspec), lb->params, n_seq, T);
        EXPECT_EQ(lf.matmul_trained, 0.0);
        EXPECT_DOUBLE_EQ(lf.matmul_frozen, 4.0 * active * rows);
        EXPECT_DOUBLE_EQ(lf.lora, 6.0 * adapters * rows);
        EXPECT_DOUBLE_EQ(lf.attention, f.attention);
    }
}

TEST(MemoryPlan, MtpModulesCountTheirShorterRowsAndTheSharedHead) {
    const ModelConfig with = fixture_config("deepseek-v3-tiny");  // one MTP module
    ModelConfig without = with;
    without.num_nextn_predict_layers = 0;
    const int64_t n_seq = 1, T = 10;
    auto bw = build(scratch(with)), bo = build(scratch(without));
    const StepFlops fw = training_step_flops(with, model_tensors(scratch(with)), bw->params, n_seq, T);
    const StepFlops fo = training_step_flops(without, model_tensors(scratch(without)), bo->params, n_seq, T);
    // The module's own tensors over T-1 rows, plus the main lm_head applied again to those rows.
    const std::string p = "model.layers." + std::to_string(with.num_hidden_layers) + ".";
    double module = 0;
    const double share = double(with.num_experts_per_tok) / double(with.n_routed_experts);
    for (const Parameter* q : bw->params.parameters())
        if (q->name.rfind(p, 0) == 0 && q->rows() > 1) module += double(q->numel()) * (q->slices.empty() ? 1.0 : share);
    module += double(with.vocab_size * with.hidden_size);
    EXPECT_DOUBLE_EQ(fw.matmul_trained - fo.matmul_trained, 6.0 * module * double(T - 1));
    const double pairs = double(T - 1) * double(T) / 2.0;
    EXPECT_DOUBLE_EQ(fw.attention - fo.attention,
                     12.0 * double(with.num_attention_heads) * double(with.qk_head_dim() + with.v_head_dim) / 2.0 * pairs);
}

TEST(MemoryPlan, PersistentBytesFollowTheStore) {
    const ModelConfig c = fixture_config("deepseek-v3-tiny");
    {  // full fine-tune: every tensor has a master, gradient and two moments; matrices a bf16 copy
        const TrainableSpec spec = scratch(c);
        auto b = build(spec);
        const std::vector<ModelTensor> tensors = model_tensors(spec);
        double total = 0, matrices = 0, buffers = 0;
        for (const ModelTensor& t : tensors) {
            if (t.buffer) {
                buffers += 4.0 * double(t.numel());
                continue;
            }
            total += double(t.numel());
            if (!t.vector) matrices += double(t.numel());
        }
        const MemoryPlan plan = plan_training_memory(spec, b->params, 1, 16, {});
        EXPECT_DOUBLE_EQ(plan.trainable_masters, 4.0 * total);
        EXPECT_DOUBLE_EQ(plan.gradients, plan.trainable_masters);
        EXPECT_DOUBLE_EQ(plan.adamw_moments, 2.0 * plan.trainable_masters);
        EXPECT_DOUBLE_EQ(plan.weight_copies, 2.0 * matrices);
        EXPECT_DOUBLE_EQ(plan.frozen_weights, buffers);  // only the routing biases stay frozen
        EXPECT_GT(plan.activations, 0.0);
        EXPECT_GT(plan.workspace, 0.0);
        EXPECT_DOUBLE_EQ(plan.peak(), plan.persistent() + plan.activations + plan.workspace);
    }
    {  // LoRA: the base is frozen (bf16 matrices, F32 vectors); only adapters train
        const TrainableSpec spec = lora_spec(c, 4);
        auto b = build(spec);
        double frozen = 0, lora = 0, lora_copies = 0;
        for (const ModelTensor& t : model_tensors(spec)) frozen += double(t.numel()) * (t.vector || t.buffer ? 4.0 : 2.0);
        for (const Parameter* p : b->params.parameters()) {
            lora += double(p->numel());
            if (!p->weight.empty()) lora_copies += double(p->numel());  // routed experts' adapters stay F32 tensors
        }
        const MemoryPlan plan = plan_training_memory(spec, b->params, 1, 16, {});
        EXPECT_DOUBLE_EQ(plan.frozen_weights, frozen);
        EXPECT_DOUBLE_EQ(plan.trainable_masters, 4.0 * lora);
        EXPECT_DOUBLE_EQ(plan.weight_copies, 2.0 * lora_copies);
        EXPECT_LT(lora_copies, lora);
    }
}

TEST(MemoryPlan, ActivationsScaleWithTheBatchAndShrinkWhenCheckpointed) {
    const ModelConfig c = fixture_config("deepseek-v3-tiny");
    const TrainableSpec spec = scratch(c);
    auto b = build(spec);
    GraphOptions keep, ckpt;
    ckpt.checkpoint_layers = true;
    const MemoryPlan one = plan_training_memory(spec, b->params, 1, 32, keep);
    const MemoryPlan two = plan_training_memory(spec, b->params, 2, 32, keep);
    const MemoryPlan small = plan_training_memory(spec, b->params, 1, 32, ckpt);
    EXPECT_DOUBLE_EQ(two.activations, 2.0 * one.activations);
    EXPECT_DOUBLE_EQ(two.persistent(), one.persistent());
    EXPECT_LT(small.activations, 0.5 * one.activations);
    const Json j = one.to_json();
    EXPECT_DOUBLE_EQ(j.at("peak_bytes").get<double>(), one.peak());
    EXPECT_NE(one.table().find("peak"), std::string::npos);
}

TEST(MemoryPlan, KeptExpertRowsAddTheirBf16GateUpAndOutputRowsPerMoeLayer) {
    const ModelConfig c = fixture_config("deepseek-v3-tiny");
    const TrainableSpec spec = scratch(c);
    auto b = build(spec);
    GraphOptions kept, recomputed;
    recomputed.recompute_experts = true;
    const int64_t seq = 32;
    const MemoryPlan with = plan_training_memory(spec, b->params, 1, seq, kept);
    const MemoryPlan without = plan_training_memory(spec, b->params, 1, seq, recomputed);
    MemoryPlanOptions cpu;
    cpu.expert_rows_kept = false;  // a backend that keeps nothing plans nothing for it
    const MemoryPlan cpu_plan = plan_training_memory(spec, b->params, 1, seq, kept, cpu);
    // Every MoE layer, the MTP module's included (its rows are one shorter).
    double rows = 0;
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
        if (c.is_moe_layer(i)) rows += double(seq);
    for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) rows += double(seq - k - 1);
    const double per_row = double(c.num_experts_per_tok) * 2.0 * double(2 * c.moe_intermediate_size + c.hidden_size);
    EXPECT_DOUBLE_EQ(with.activations - without.activations, rows * per_row);
    EXPECT_DOUBLE_EQ(cpu_plan.activations, without.activations);
}

}  // namespace
}  // namespace moe::test
