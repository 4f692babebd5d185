// The embedded demo model: written byte-identically every time, loads with the CPU backend, decodes
// fast enough for a first launch, and its routing is spread over the experts (a heatmap worth seeing).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <unistd.h>

#include "demo/demo_model.h"
#include "demo/demo_spec.h"
#include "demo/embedded_tokenizer.h"
#include "generate/generator.h"
#include "session/model_session.h"
#include "support/test_paths.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the temp dir, removed with the object.
struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& tag)
        : path(fs::temp_directory_path() / ("moe-demo-" + tag + "-" + std::to_string(getpid()))) {
        fs::remove_all(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_bytes(const fs::path& p) { return read_file(p.string()); }

// One demo model for the tests that only read it.
const std::string& shared_demo_dir() {
    static TempDir dir("shared");
    static const bool written = (demo::write_demo_model(dir.path.string()), true);
    (void)written;
    return dir.path.native();
}

TEST(DemoModel, WritesTheSameBytesEveryTime) {
    TempDir a("a"), b("b");
    demo::write_demo_model(a.path.string());
    demo::write_demo_model(b.path.string());
    demo::write_demo_model(b.path.string());  // over an existing copy, too
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
        ASSERT_TRUE(fs::exists(a.path / f)) << f;
        EXPECT_EQ(read_bytes(a.path / f), read_bytes(b.path / f)) << f << " differs between two writes";
    }
    for (const auto& entry : fs::directory_iterator(a.path))
        EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << "left behind: " << entry.path();
}

TEST(DemoModel, EmbeddedTokenizerFilesEqualTheResources) {
    // The build generates the compiled-in copy from these (engine/demo/embed_files.cmake).
    EXPECT_EQ(demo::k_tokenizer_json, read_file(data_path("../../resources/demo/tokenizer.json")))
        << "the compiled-in tokenizer.json differs from resources/demo/";
    EXPECT_EQ(demo::k_tokenizer_config_json, read_file(data_path("../../resources/demo/tokenizer_config.json")))
        << "the compiled-in tokenizer_config.json differs from resources/demo/";
}

// Two workbench windows (or parallel tests) may create the cached model at the same moment.
TEST(DemoModel, ConcurrentWritersLeaveACompleteModel) {
    TempDir d("concurrent");
    std::vector<std::thread> writers;
    for (int i = 0; i < 3; ++i) writers.emplace_back([&] { demo::write_demo_model(d.path.string()); });
    for (auto& w : writers) w.join();
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string()));
    TempDir ref("reference");
    demo::write_demo_model(ref.path.string());
    EXPECT_EQ(read_bytes(d.path / "model.safetensors"), read_bytes(ref.path / "model.safetensors"));
}

TEST(DemoModel, IsCurrentUntilAFileChanges) {
    TempDir d("current");
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string()));
    demo::ensure_demo_model(d.path.string());
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string()));
    std::ofstream(d.path / "config.json", std::ios::app) << " ";
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string()));
    demo::ensure_demo_model(d.path.string());
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string()));
}

TEST(DemoModel, ConfigSaysUntrainedDeepSeekV3) {
    const Json c = Json::parse(read_file(shared_demo_dir() + "/config.json"));
    EXPECT_EQ(c["architectures"], Json::array({"DeepseekV3ForCausalLM"}));
    EXPECT_EQ(c["model_type"], "deepseek_v3");
    EXPECT_EQ(c["workbench_demo"], true);
    EXPECT_NE(c["workbench_note"].get<std::string>().find("UNTRAINED"), std::string::npos);
}

TEST(DemoModel, LoadsOnTheCpuAndDecodesFast) {
    ModelSession s = open_model(shared_demo_dir(), "cpu", 1024);
    const auto tok = Tokenizer::load(shared_demo_dir());
    const auto tmpl = ChatTemplate::compile(tok->config().chat_template, "chat_template");
    ASSERT_FALSE(tok->config().chat_template.empty());
    const std::vector<int32_t> prompt = tok->encode("Hello, what do experts do?", true);
    ASSERT_GT(prompt.size(), 3u);
    Generator gen(*s.model);
    GenerationOptions go;
    go.max_new_tokens = 200;
    go.ignore_eos = true;
    go.vocabulary = vocabulary_mask(s.model->config(), *tok);
    go.sampling.seed = 7;
    const GenerationResult r = gen.generate(prompt, go);
    ASSERT_EQ(r.tokens.size(), 200u);
    std::printf("[ demo     ] 200 tokens, %.1f tokens/s decode on the CPU backend\n", r.decode_tokens_per_second());
    EXPECT_GT(r.decode_tokens_per_second(), 40.0) << "the demo model should decode fast on two cores";
    EXPECT_FALSE(tok->decode(r.tokens).empty());
}

TEST(DemoModel, RoutingSpreadsOverTheExperts) {
    ModelSession s = open_model(shared_demo_dir(), "cpu", 1024);
    const demo::DemoShape shape;
    RoutingTrace& trace = s.model->routing_trace();
    std::map<int64_t, std::set<std::vector<int32_t>>> expert_sets;  // distinct per-token choices per layer
    const int obs = trace.add_observer([&](const ForwardRouting& f, const RoutingTrace&) {
        if (f.mtp) return;
        for (const auto& [layer, r] : f.layers)
            for (int64_t t = 0; t < r.tokens(); ++t) {
                std::vector<int32_t> set(r.expert_ids.begin() + t * r.top_k, r.expert_ids.begin() + (t + 1) * r.top_k);
                std::sort(set.begin(), set.end());
                expert_sets[layer].insert(set);
            }
    });
    Generator gen(*s.model);
    GenerationOptions go;
    go.max_new_tokens = 180;
    go.ignore_eos = true;
    go.vocabulary = vocabulary_mask(s.model->config(), *Tokenizer::load(shared_demo_dir()));
    go.sampling.seed = 11;
    const std::vector<int32_t> prompt = {0, 2, 120, 57, 300, 41, 415, 9, 88, 260, 17, 3, 199, 450, 72, 31, 5, 230, 101, 64};
    gen.generate(prompt, go);  // 20 + 180 - 1 = 199 tokens run through every layer
    trace.remove_observer(obs);

    ASSERT_EQ(int64_t(trace.layers().size()), shape.layers - shape.first_k_dense + shape.mtp_layers);
    for (int64_t layer = shape.first_k_dense; layer < shape.layers; ++layer) {
        const std::vector<uint64_t> load = trace.expert_load(layer);
        ASSERT_EQ(int64_t(load.size()), shape.experts);
        const int64_t used = std::count_if(load.begin(), load.end(), [](uint64_t n) { return n > 0; });
        const uint64_t total = std::accumulate(load.begin(), load.end(), uint64_t(0));
        const uint64_t busiest = *std::max_element(load.begin(), load.end());
        std::printf("[ demo     ] layer %lld: %lld of %lld experts used, busiest %.1f%% of hits, %zu distinct sets\n",
                    (long long)layer, (long long)used, (long long)shape.experts, 100.0 * double(busiest) / double(total),
                    expert_sets[layer].size());
        EXPECT_EQ(total, uint64_t(199 * shape.experts_per_tok)) << "layer " << layer;
        EXPECT_GE(used, shape.experts / 2) << "layer " << layer << " routes to too few experts";
        EXPECT_LT(double(busiest) / double(total), 0.10) << "layer " << layer << " is dominated by one expert";
        EXPECT_GE(expert_sets[layer].size(), 100u) << "layer " << layer << ": routing barely changes between tokens";
        const std::vector<float> bias = trace.bias(layer);
        ASSERT_EQ(int64_t(bias.size()), shape.experts);
        EXPECT_TRUE(std::any_of(bias.begin(), bias.end(), [](float b) { return b != 0.0f; })) << "bias is all zero";
    }
}

}  // namespace
}  // namespace moe::test
