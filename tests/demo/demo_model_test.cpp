// The embedded demo models (engine/demo/demo_model.h): written byte-identically every time from the
// compiled-in files, current until a byte changes, loadable on the CPU and fast enough for a first
// launch. The trained one predicts real text far better than chance and routes different domains
// to different experts; the untrained one spreads its routing (a heatmap worth seeing).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <thread>
#include <unistd.h>

#include "demo/demo_model.h"
#include "demo/demo_spec.h"
#include "demo/embedded_files.h"
#include "generate/generator.h"
#include "session/model_session.h"
#include "support/test_paths.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using demo::DemoKind;

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
std::string resource(const std::string& rel) { return read_file(data_path("../../resources/" + rel)); }
const char* tag(DemoKind k) { return k == DemoKind::Trained ? "trained" : "untrained"; }

// One copy of each demo model for the tests that only read it.
const std::string& shared_demo_dir(DemoKind kind) {
    static TempDir trained("shared-trained"), untrained("shared-untrained");
    static const bool written = (demo::write_demo_model(trained.path.string(), DemoKind::Trained),
                                 demo::write_demo_model(untrained.path.string(), DemoKind::Untrained), true);
    (void)written;
    return (kind == DemoKind::Trained ? trained : untrained).path.native();
}

class DemoKinds : public ::testing::TestWithParam<DemoKind> {};

TEST_P(DemoKinds, WritesTheSameBytesEveryTime) {
    TempDir a(std::string("a-") + tag(GetParam())), b(std::string("b-") + tag(GetParam()));
    demo::write_demo_model(a.path.string(), GetParam());
    demo::write_demo_model(b.path.string(), GetParam());
    demo::write_demo_model(b.path.string(), GetParam());  // over an existing copy, too
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
        ASSERT_TRUE(fs::exists(a.path / f)) << f;
        EXPECT_EQ(read_bytes(a.path / f), read_bytes(b.path / f)) << f << " differs between two writes";
    }
    for (const auto& entry : fs::directory_iterator(a.path))
        EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << "left behind: " << entry.path();
}

TEST_P(DemoKinds, IsCurrentUntilAFileChanges) {
    TempDir d(std::string("current-") + tag(GetParam()));
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string(), GetParam()));
    demo::ensure_demo_model(d.path.string(), GetParam());
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string(), GetParam()));
    std::ofstream(d.path / "config.json", std::ios::app) << " ";
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string(), GetParam()));
    demo::ensure_demo_model(d.path.string(), GetParam());
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string(), GetParam()));
    const DemoKind other = GetParam() == DemoKind::Trained ? DemoKind::Untrained : DemoKind::Trained;
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string(), other)) << "one kind passes for the other";
}

TEST_P(DemoKinds, LoadsOnTheCpuAndDecodesFast) {
    const std::string& dir = shared_demo_dir(GetParam());
    ModelSession s = open_model(dir, "cpu", 1024);
    const auto tok = Tokenizer::load(dir);
    ASSERT_FALSE(tok->config().chat_template.empty());
    (void)ChatTemplate::compile(tok->config().chat_template, "chat_template");
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
    std::printf("[ demo     ] %s: 200 tokens, %.1f tokens/s decode on the CPU backend\n", tag(GetParam()),
                r.decode_tokens_per_second());
    EXPECT_GT(r.decode_tokens_per_second(), 40.0) << "the demo model should decode fast on two cores";
    EXPECT_FALSE(tok->decode(r.tokens).empty());
}

INSTANTIATE_TEST_SUITE_P(Both, DemoKinds, ::testing::Values(DemoKind::Trained, DemoKind::Untrained),
                         [](const auto& kind) { return std::string(tag(kind.param)); });

TEST(DemoModel, EmbeddedFilesEqualTheResources) {
    // engine/demo/embedded_files.cpp .incbin's these at build time.
    const std::map<std::string, std::string> trained = {{"config.json", "demo-model/config.json"},
                                                        {"model.safetensors", "demo-model/model.safetensors"},
                                                        {"tokenizer.json", "demo-trained/tokenizer.json"},
                                                        {"tokenizer_config.json", "demo-trained/tokenizer_config.json"}};
    ASSERT_EQ(demo::trained_model_files().size(), trained.size());
    EXPECT_EQ(demo::trained_model_files().back().name, "config.json") << "config.json must be written last";
    for (const demo::EmbeddedFile& f : demo::trained_model_files())
        EXPECT_TRUE(f.bytes == resource(trained.at(std::string(f.name)))) << f.name << " differs from resources/";
    const std::map<std::string, std::string> run = {{"request.json", "demo-model/training/run.json"},
                                                    {"history.jsonl", "demo-model/training/history.jsonl"},
                                                    {"events.jsonl", "demo-model/training/events.jsonl"}};
    ASSERT_EQ(demo::trained_run_files().size(), run.size());
    for (const demo::EmbeddedFile& f : demo::trained_run_files())
        EXPECT_TRUE(f.bytes == resource(run.at(std::string(f.name)))) << f.name << " differs from resources/";
    EXPECT_EQ(demo::k_tokenizer_json, resource("demo/tokenizer.json"));
    EXPECT_EQ(demo::k_tokenizer_config_json, resource("demo/tokenizer_config.json"));
}

// Two workbench windows (or parallel tests) may create the cached model at the same moment.
TEST(DemoModel, ConcurrentWritersLeaveACompleteModel) {
    TempDir d("concurrent");
    std::vector<std::thread> writers;
    for (int i = 0; i < 3; ++i) writers.emplace_back([&] { demo::write_demo_model(d.path.string()); });
    for (auto& w : writers) w.join();
    EXPECT_TRUE(demo::demo_model_is_current(d.path.string()));
}

TEST(DemoModel, DamagedWeightsAreRewritten) {
    TempDir d("damaged");
    demo::ensure_demo_model(d.path.string());
    {
        std::fstream f(d.path / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(5'000'000);
        f.put('\x7f');
    }
    EXPECT_FALSE(demo::demo_model_is_current(d.path.string()));
    demo::ensure_demo_model(d.path.string());
    EXPECT_EQ(read_bytes(d.path / "model.safetensors"), resource("demo-model/model.safetensors"));
}

TEST(DemoModel, TrainedConfigIsDeepSeekV3WithMtpWithinTheBudget) {
    const Json c = Json::parse(read_file(shared_demo_dir(DemoKind::Trained) + "/config.json"));
    EXPECT_EQ(c["architectures"], Json::array({"DeepseekV3ForCausalLM"}));
    EXPECT_EQ(c["scoring_func"], "sigmoid");
    EXPECT_EQ(c["topk_method"], "noaux_tc");
    EXPECT_GT(c["n_group"].get<int>(), 1) << "group-limited top-k";
    EXPECT_GE(c["num_nextn_predict_layers"].get<int>(), 1);
    EXPECT_GT(c["kv_lora_rank"].get<int>(), 0) << "MLA";
    EXPECT_EQ(c["workbench_demo"], true);
    EXPECT_NE(c["workbench_note"].get<std::string>().find("trained"), std::string::npos);
    EXPECT_LE(fs::file_size(fs::path(shared_demo_dir(DemoKind::Trained)) / "model.safetensors"), 15'000'000u)
        << "issue #12: the shipped weights are at most 15 MB";
}

TEST(DemoModel, UntrainedConfigSaysSo) {
    const Json c = Json::parse(read_file(shared_demo_dir(DemoKind::Untrained) + "/config.json"));
    EXPECT_EQ(c["model_type"], "deepseek_v3");
    EXPECT_EQ(c["workbench_demo"], true);
    EXPECT_NE(c["workbench_note"].get<std::string>().find("UNTRAINED"), std::string::npos);
}

// Mean next-token negative log-likelihood (nats) of `text` under the model: ln(vocab) is chance.
double mean_nll(const std::string& dir, const std::string& text, int64_t max_tokens) {
    ModelSession s = open_model(dir, "cpu", max_tokens);
    std::vector<int32_t> ids = Tokenizer::load(dir)->encode(text, true);
    if (int64_t(ids.size()) > max_tokens) ids.resize(size_t(max_tokens));
    const Logits l = s.model->forward(ids, 0, LogitRows::All);
    double sum = 0;
    for (size_t t = 0; t + 1 < ids.size(); ++t) {
        const float* row = l.data.data() + t * size_t(l.cols);
        const float top = *std::max_element(row, row + l.cols);
        double z = 0;
        for (int64_t v = 0; v < l.cols; ++v) z += std::exp(double(row[v] - top));
        sum += std::log(z) + top - row[ids[t + 1]];
    }
    return sum / double(ids.size() - 1);
}

// resources/corpora/*.txt were written for this project and are not in the training corpora.
TEST(DemoModel, TrainedModelPredictsUnseenTextFarBetterThanChance) {
    const double chance = std::log(4096.0);
    for (const char* name : {"english-prose", "code", "chinese-prose"}) {
        const double nll = mean_nll(shared_demo_dir(DemoKind::Trained), resource(std::string("corpora/") + name + ".txt"), 384);
        std::printf("[ demo     ] %s: %.3f nats/token (chance %.3f)\n", name, nll, chance);
        EXPECT_LT(nll, chance - 2.5) << name << ": the trained demo model should have learnt its domains";
    }
}

// Load per expert of `layer` for the tokens of `text` (first 384), normalised.
std::map<int64_t, std::vector<double>> expert_share(const std::string& dir, const std::string& text) {
    ModelSession s = open_model(dir, "cpu", 384);
    std::vector<int32_t> ids = Tokenizer::load(dir)->encode(text, true);
    ids.resize(std::min<size_t>(ids.size(), 384));
    s.model->forward(ids, 0, LogitRows::Last);
    std::map<int64_t, std::vector<double>> share;
    for (int64_t layer : s.model->routing_trace().layers()) {
        const std::vector<uint64_t> load = s.model->routing_trace().expert_load(layer);
        const double total = double(std::accumulate(load.begin(), load.end(), uint64_t(0)));
        if (total == 0) continue;  // the MTP module routes nothing without drafting
        for (uint64_t n : load) share[layer].push_back(double(n) / total);
    }
    return share;
}

double js_bits(const std::vector<double>& p, const std::vector<double>& q) {
    double js = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const double m = (p[i] + q[i]) / 2;
        if (p[i] > 0) js += 0.5 * p[i] * std::log2(p[i] / m);
        if (q[i] > 0) js += 0.5 * q[i] * std::log2(q[i] / m);
    }
    return js;
}

TEST(DemoModel, TrainedModelRoutesCodeAndChineseToDifferentExperts) {
    const auto code = expert_share(shared_demo_dir(DemoKind::Trained), resource("corpora/code.txt"));
    const auto chinese = expert_share(shared_demo_dir(DemoKind::Trained), resource("corpora/chinese-prose.txt"));
    ASSERT_EQ(code.size(), 5u) << "the five MoE layers of the main model";
    double mean = 0;
    for (const auto& [layer, p] : code) {
        const double js = js_bits(p, chinese.at(layer));
        std::printf("[ demo     ] layer %lld: JS(code, chinese) = %.3f bits\n", (long long)layer, js);
        mean += js / double(code.size());
    }
    EXPECT_GT(mean, 0.15) << "the trained demo's experts should have specialised by domain";
}

TEST(DemoModel, UntrainedRoutingSpreadsOverTheExperts) {
    const std::string& dir = shared_demo_dir(DemoKind::Untrained);
    ModelSession s = open_model(dir, "cpu", 1024);
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
    go.vocabulary = vocabulary_mask(s.model->config(), *Tokenizer::load(dir));
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

TEST(DemoModel, TrainingRunIsInstalledOnceWithItsHistory) {
    TempDir runs("runs");
    const std::string dir = demo::ensure_demo_run(runs.path.string(), "/models/demo");
    EXPECT_EQ(fs::path(dir).filename(), demo::kTrainingRunId);
    const Json request = Json::parse(read_file(dir + "/request.json"));
    EXPECT_EQ(request["out"], dir);
    EXPECT_EQ(request["result"], "/models/demo");
    EXPECT_EQ(request["method"], "full");
    std::ifstream history(dir + "/history.jsonl");
    int steps = 0, evals = 0;
    for (std::string line; std::getline(history, line);) {
        const Json e = Json::parse(line);
        steps += e["event"] == "step";
        evals += e["event"] == "eval";
    }
    EXPECT_GT(steps, 100);
    EXPECT_GE(evals, 2) << "the panel's before/after per-domain load needs the step-0 and a later eval";
    EXPECT_NE(read_file(dir + "/events.jsonl").find("\"event\":\"done\""), std::string::npos);
    std::ofstream(dir + "/history.jsonl") << "";  // the user's folder now: a second call leaves it alone
    demo::ensure_demo_run(runs.path.string(), "/models/demo");
    EXPECT_EQ(fs::file_size(dir + "/history.jsonl"), 0u);
}

}  // namespace
}  // namespace moe::test
