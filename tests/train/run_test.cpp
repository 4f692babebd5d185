// Fine-tune runs on the CPU with the tiny DeepSeek-V3 fixture (tests/data/models/deepseek-v3-tiny,
// its own 500-entry tokenizer and chat template) and the data fixtures of tests/train_data:
// LoRA and full runs whose loss goes down, exact resume (a run stopped at step k and resumed gives
// the same loss curve, bit for bit, and the same final weights as one that never stopped), and a
// kill -9 in the middle of a checkpoint save leaving the previous checkpoint intact and resumable.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/strict_json.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"
#include "train/training_run.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using namespace moe::train;

RunConfig tiny_run(const std::string& out, TrainMethod method, int64_t steps) {
    RunConfig c;
    c.model = data_path("models/deepseek-v3-tiny");
    c.method = method;
    c.out = out;
    c.backend = "cpu";
    c.seed = 7;
    c.data.seed = 7;
    c.data.sources = {DataSourceSpec::parse(data_path("train_data/prose")),
                      DataSourceSpec::parse(data_path("train_data/chat.jsonl"))};
    c.data.seq_len = 48;
    c.data.batch = 2;
    c.data.holdout_fraction = 0.2;
    c.accumulation = 2;
    c.lora.rank = 4;
    c.lora.alpha = 8;
    c.lora.dropout = 0.1f;
    c.lora.seed = 9;
    c.schedule.steps = steps;
    c.schedule.lr = method == TrainMethod::Lora ? 2e-2f : 3e-3f;
    c.schedule.warmup = 1;
    c.objectives = Objectives{0.3f, 1e-3f, 1e-3f};
    c.eval_interval = 3;
    c.checkpoint_interval = 2;
    c.keep_checkpoints = 2;
    return c;
}

std::vector<Json> run_collect(const RunConfig& c, int64_t stop_after = 0) {
    std::vector<Json> events;
    RunControl control;
    TrainingRun run(c, [&](const Json& e) {
        events.push_back(e);
        if (stop_after > 0 && e["event"] == "step" && e["step"] == stop_after) control.cancel = true;
    });
    run.run(control);
    return events;
}

std::vector<Json> of_kind(const std::vector<Json>& events, const std::string& kind) {
    std::vector<Json> out;
    for (const Json& e : events)
        if (e["event"] == kind) out.push_back(e);
    return out;
}

TEST(TrainRun, LoraLossGoesDownAndEverythingIsReported) {
    TempDir tmp("moe-run");
    const std::vector<Json> ev = run_collect(tiny_run(tmp.file("run"), TrainMethod::Lora, 8));
    ASSERT_FALSE(of_kind(ev, "data_report").empty());
    // The report counts each domain apart (the panel's table), and the domains add up to the totals.
    const Json report = of_kind(ev, "data_report").front()["report"];
    ASSERT_GE(report["domains"].size(), 2u) << report["domains"].dump();  // prose and the chats' domain(s)
    int64_t tokens = 0, held = 0;
    bool has_prose = false;
    for (const Json& d : report["domains"]) {
        ASSERT_TRUE(d.is_object()) << "each domain with its counts, not only its name: " << d.dump();
        has_prose = has_prose || d["name"] == "prose";
        EXPECT_GT(d["documents"].get<int64_t>(), 0) << d.dump();
        EXPECT_GT(d["train"]["tokens"].get<int64_t>() + d["holdout"]["tokens"].get<int64_t>(), 0) << d.dump();
        tokens += d["train"]["tokens"].get<int64_t>();
        held += d["holdout"]["samples"].get<int64_t>();
    }
    EXPECT_TRUE(has_prose);
    EXPECT_EQ(tokens, report["totals"]["train"]["tokens"].get<int64_t>());
    EXPECT_EQ(held, report["totals"]["holdout"]["samples"].get<int64_t>());
    const std::vector<Json> steps = of_kind(ev, "step");
    ASSERT_EQ(steps.size(), 8u);
    const double first = steps[0]["ce"].get<double>() + steps[1]["ce"].get<double>();
    const double last = steps[6]["ce"].get<double>() + steps[7]["ce"].get<double>();
    EXPECT_LT(last, first) << "LoRA CE did not go down";
    for (const Json& s : steps) {
        EXPECT_GT(s["l_mtp"].get<double>(), 0.0);
        EXPECT_GT(s["l_bal"].get<double>(), 0.0);
        EXPECT_TRUE(s["layers"].contains("1") && s["layers"]["1"]["load"].size() == 16u);
    }
    const std::vector<Json> evals = of_kind(ev, "eval");
    ASSERT_EQ(evals.size(), 4u) << "before step 1, at steps 3 and 6, and at the last step";
    EXPECT_EQ(evals.front()["step"], 0) << "the model the run started from is evaluated first";
    EXPECT_EQ(evals[1]["step"], 3);
    for (const Json& e : evals) {
        EXPECT_TRUE(e["domains"].contains("prose"));
        EXPECT_EQ(e["domains"]["prose"]["load"]["1"].size(), 16u);
        ASSERT_EQ(e["routing_bias"]["1"].size(), 16u) << "the routing bias the loads were measured with";
    }
    // LoRA leaves the bias to the balancer (γ = 1e-3 here): it moved from the checkpoint's by then
    EXPECT_NE(evals.front()["routing_bias"]["1"], evals.back()["routing_bias"]["1"]);
    EXPECT_EQ(of_kind(ev, "done").size(), 1u);
    EXPECT_EQ(list_checkpoints(tmp.file("run")).size(), 2u) << "keep-last-2";
    // the history on disk has every step and eval
    std::ifstream h(tmp.file("run") + "/history.jsonl");
    int lines = 0;
    for (std::string l; std::getline(h, l);) ++lines;
    EXPECT_EQ(lines, int(steps.size() + evals.size()));
}

TEST(TrainRun, FullFineTuneLossGoesDownAndBiasesMove) {
    TempDir tmp("moe-run");
    const std::vector<Json> steps = of_kind(run_collect(tiny_run(tmp.file("run"), TrainMethod::Full, 8)), "step");
    ASSERT_EQ(steps.size(), 8u);
    EXPECT_LT(steps[6]["ce"].get<double>() + steps[7]["ce"].get<double>(),
              steps[0]["ce"].get<double>() + steps[1]["ce"].get<double>());
    EXPECT_NE(steps.front()["layers"]["1"]["bias"], steps.back()["layers"]["1"]["bias"]) << "γ > 0 moves the bias";
}

// Stopped after step 3 (a checkpoint is written at the stop) and resumed: the same numbers as a
// run that never stopped, bit for bit, and the same final weights byte for byte.
TEST(TrainRun, ResumeIsExact) {
    TempDir tmp("moe-run");
    const RunConfig a = tiny_run(tmp.file("a"), TrainMethod::Lora, 6);
    RunConfig b = a;
    b.out = tmp.file("b");
    const std::vector<Json> full = of_kind(run_collect(a), "step");
    std::vector<Json> first = of_kind(run_collect(b, 3), "step");
    ASSERT_EQ(first.size(), 3u);
    const std::vector<Json> rest = of_kind(run_collect(b), "step");
    ASSERT_EQ(rest.size(), 3u);
    first.insert(first.end(), rest.begin(), rest.end());
    ASSERT_EQ(full.size(), first.size());
    for (size_t i = 0; i < full.size(); ++i)
        for (const char* k : {"step", "total", "ce", "l_mtp", "l_bal", "grad_norm", "lr", "layers"})
            EXPECT_EQ(full[i][k], first[i][k]) << "step " << i + 1 << " " << k;
    const auto last_a = list_checkpoints(a.out).back(), last_b = list_checkpoints(b.out).back();
    EXPECT_EQ(read_file(last_a + "/params.safetensors"), read_file(last_b + "/params.safetensors"));
    EXPECT_EQ(read_file(last_a + "/optimizer.safetensors"), read_file(last_b + "/optimizer.safetensors"));
}

// Starts a child process with stdout/stderr discarded; `delay` sets MOE_TRAIN_SAVE_DELAY_MS.
pid_t spawn(const std::vector<std::string>& args, const char* delay) {
    const pid_t pid = fork();
    if (pid == 0) {
        if (delay) setenv("MOE_TRAIN_SAVE_DELAY_MS", delay, 1);
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        std::vector<char*> argv;
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

bool exited_ok(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// kill -9 while a checkpoint is half-written (MOE_TRAIN_SAVE_DELAY_MS holds it open): the previous
// checkpoint stays complete, the half-written one never appears under a checkpoint name, and the
// same command resumes and finishes.
TEST(TrainRun, KillDuringSaveKeepsThePreviousCheckpoint) {
    TempDir tmp("moe-run");
    const std::string out = tmp.file("run");
    auto command = [&](const char* steps) {
        return std::vector<std::string>{binary_path("bin/moe-engine"), "train", "--model",
                                        data_path("models/deepseek-v3-tiny"), "--data", data_path("train_data/prose"),
                                        "--method", "lora", "--steps", steps, "--seq-len", "32", "--out", out,
                                        "--backend", "cpu", "--json"};
    };
    // A first run leaves its final checkpoint (step 6).
    ASSERT_TRUE(exited_ok(spawn(command("6"), nullptr)));
    const std::vector<std::string> before = list_checkpoints(out);
    ASSERT_EQ(before.size(), 1u);
    const std::string params_before = read_file(before[0] + "/params.safetensors");

    // A longer run on the same folder resumes at 6 and saves at 10: kill it inside that save.
    const pid_t killed = spawn(command("10"), "3000");
    bool saw_partial = false;
    for (int i = 0; i < 1500 && !saw_partial; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(out + "/checkpoints", ec))
            if (e.path().filename().string().find(".partial-") != std::string::npos && fs::exists(e.path() / "state.json"))
                saw_partial = true;
    }
    kill(killed, SIGKILL);
    int status = 0;
    waitpid(killed, &status, 0);
    ASSERT_TRUE(saw_partial) << "the save never started";
    const std::vector<std::string> after = list_checkpoints(out);
    ASSERT_EQ(after, before) << "only the complete step-6 checkpoint is a checkpoint";
    EXPECT_EQ(read_file(after[0] + "/params.safetensors"), params_before);

    // The same command resumes from step 6 and finishes.
    ASSERT_TRUE(exited_ok(spawn(command("10"), nullptr)));
    EXPECT_EQ(fs::path(list_checkpoints(out).back()).filename().string(), "step-00000010");
}

// An out-of-memory step names the run-file keys that trade speed for memory, only those not on yet.
TEST(TrainRun, MemoryAdviceNamesTheKeysNotYetOn) {
    RunConfig c;
    EXPECT_EQ(c.memory_advice(),
              "to need less memory, set recompute_experts = true or checkpoint_layers = true in the run file, or "
              "lower [data] batch or seq_len");
    c.recompute_experts = true;
    EXPECT_EQ(c.memory_advice(),
              "to need less memory, set checkpoint_layers = true in the run file, or lower [data] batch or seq_len");
    c.checkpoint_layers = true;
    EXPECT_EQ(c.memory_advice(), "to need less memory, lower [data] batch or seq_len");
}

}  // namespace
}  // namespace moe::test
