// `moe-engine export` round trips: a run's checkpoint exported as a Hugging Face checkpoint loads in
// the inference engine and reproduces what the training graph computes for the same weights
// (LoRA folded in, biases updated, MTP layers kept): per-token NLL within 2e-4 relative for an f32
// export. bf16 (the base's own dtype) and fp8 exports load and stay close; a model trained from
// scratch exports with the MTP copies DeepSeek-V3 ships.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "core/strict_json.h"
#include "cpu/cpu_backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"
#include "train/export.h"
#include "train/train_graph.h"
#include "train/training_run.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using namespace moe::train;

RunConfig small_run(const std::string& out, TrainMethod m) {
    RunConfig c;
    c.model = data_path("models/deepseek-v3-tiny");
    c.method = m;
    c.out = out;
    c.backend = "cpu";
    c.seed = 3;
    c.data.seed = 3;
    c.data.sources = {DataSourceSpec::parse(data_path("train_data/prose"))};
    c.data.seq_len = 32;
    c.lora.rank = 4;
    c.lora.alpha = 8;
    c.lora.seed = 1;
    c.schedule.steps = 3;
    c.schedule.lr = 5e-2f;  // large: the exported weights must differ visibly from the base
    c.objectives = Objectives{0.0f, 0.0f, 1e-2f};
    c.eval_interval = 0;
    return c;
}

std::vector<int32_t> probe_tokens() { return {1, 17, 200, 42, 99, 7, 311, 64, 5, 250, 12}; }

// Per-token NLL of the next token from the inference model over `dir`.
std::vector<double> inference_nll(const std::string& dir) {
    auto ckpt = Checkpoint::open(dir);
    CpuBackend cpu;
    auto model = load_model(*ckpt, cpu);
    const std::vector<int32_t> t = probe_tokens();
    const Logits l = model->forward(t, 0);
    std::vector<double> nll;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
        const auto row = l.row(int64_t(i));
        double m = row[0], s = 0.0;
        for (float v : row) m = std::max(m, double(v));
        for (float v : row) s += std::exp(double(v) - m);
        nll.push_back(m + std::log(s) - double(row[size_t(t[i + 1])]));
    }
    return nll;
}

// The same from the training graph of the run (resumed at its last checkpoint).
std::vector<double> training_nll(const RunConfig& c) {
    TrainingRun run(c, nullptr);
    const std::vector<float> nll = run.graph().evaluate(batch_of_sequences({probe_tokens()}), nullptr);
    return std::vector<double>(nll.begin(), nll.end() - 1);
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double rel, const char* what) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], rel * std::abs(b[i]) + 1e-6) << what << " token " << i;
}

void train(const RunConfig& c) {
    RunControl ctl;
    TrainingRun(c, nullptr).run(ctl);
}

TEST(Export, LoraFoldedIntoF32ReproducesTheTrainingGraph) {
    TempDir tmp("moe-export");
    const RunConfig c = small_run(tmp.file("run"), TrainMethod::Lora);
    train(c);
    const Json summary = export_run(ExportOptions{c.out, -1, tmp.file("f32"), "f32"});
    EXPECT_EQ(summary["step"], 3);
    const std::vector<double> trained = training_nll(c), exported = inference_nll(tmp.file("f32"));
    expect_close(exported, trained, 2e-4, "lora f32");
    const std::vector<double> base = inference_nll(data_path("models/deepseek-v3-tiny"));
    double moved = 0.0;
    for (size_t i = 0; i < base.size(); ++i) moved = std::max(moved, std::abs(base[i] - exported[i]));
    EXPECT_GT(moved, 1e-3) << "the fine-tune changed nothing";
    // tokenizer files and the MTP layer came along
    EXPECT_TRUE(fs::exists(tmp.file("f32") + "/tokenizer.json"));
    EXPECT_TRUE(Checkpoint::open(tmp.file("f32"))->num_mtp_layers() == 1);
}

TEST(Export, FullFineTuneBiasesAndDtypes) {
    TempDir tmp("moe-export");
    const RunConfig c = small_run(tmp.file("run"), TrainMethod::Full);
    train(c);
    export_run(ExportOptions{c.out, -1, tmp.file("f32"), "f32"});
    expect_close(inference_nll(tmp.file("f32")), training_nll(c), 2e-4, "full f32");
    // auto keeps the base's bf16; the bias (a buffer) stays f32 and is the trained one
    export_run(ExportOptions{c.out, -1, tmp.file("auto"), "auto"});
    auto ckpt = Checkpoint::open(tmp.file("auto"));
    EXPECT_EQ(ckpt->tensor("model.layers.1.self_attn.o_proj.weight").dtype, DType::BF16);
    EXPECT_EQ(ckpt->tensor("model.layers.1.mlp.gate.e_score_correction_bias").dtype, DType::F32);
    const Json state = load_strict_json_file(list_checkpoints(c.out).back() + "/state.json", "test");
    EXPECT_EQ(ckpt->vector_f32("model.layers.1.mlp.gate.e_score_correction_bias", {16}),
              state["routing_bias"]["1"].get<std::vector<float>>());
    expect_close(inference_nll(tmp.file("auto")), training_nll(c), 3e-2, "full bf16");
    // fp8: e4m3 with 128x128 block scales, loads and stays within fp8's error
    export_run(ExportOptions{c.out, -1, tmp.file("fp8"), "fp8"});
    EXPECT_EQ(Checkpoint::open(tmp.file("fp8"))->tensor("model.layers.1.self_attn.o_proj.weight").dtype, DType::F8_E4M3);
    expect_close(inference_nll(tmp.file("fp8")), training_nll(c), 0.15, "full fp8");
    // the output folder must not exist already
    EXPECT_THROW(export_run(ExportOptions{c.out, -1, tmp.file("fp8"), "fp8"}), moe::Error);
}

}  // namespace
}  // namespace moe::test
