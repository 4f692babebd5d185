// moe-engine train [RUN.toml|RUN.json] [--model DIR] [--data PATH]... [--method full|lora|mtp-head]
//                  [--steps N] [--seq-len N] [--lr X] [--seed N] [--out DIR] [--backend B] [--json]
// A fine-tune run, headless (engine/train/training_run.h). Without --json a progress line on stderr;
// with --json one JSON event per line on stdout (data_report, plan, step, eval, checkpoint, done).
// SIGINT/SIGTERM stop after the current step with a checkpoint; running the same command again
// resumes exactly where it stopped.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "session/model_session.h"
#include "core/error.h"
#include "train/training_run.h"

namespace moe::cli {

namespace {

train::RunControl* g_control = nullptr;
extern "C" void on_train_stop_signal(int) {
    if (g_control) g_control->cancel = true;
}

std::string duration(double s) {
    char buf[32];
    const long t = long(s);
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
    return buf;
}

// One progress line per step on stderr (rewritten in place on a terminal).
void print_progress(const Json& e, bool tty) {
    const int64_t step = e["step"], steps = e["steps"];
    constexpr int kWidth = 24;
    const int filled = int(double(step) / double(std::max<int64_t>(1, steps)) * kWidth);
    std::string bar(size_t(filled), '=');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "%sstep %lld/%lld [%s] loss %.4f (ce %.4f", tty ? "\r" : "", (long long)step,
                 (long long)steps, bar.c_str(), e["total"].get<double>(), e["ce"].get<double>());
    if (e["l_mtp"].get<double>() > 0) std::fprintf(stderr, " mtp %.4f", e["l_mtp"].get<double>());
    if (e["l_bal"].get<double>() > 0) std::fprintf(stderr, " bal %.2e", e["l_bal"].get<double>());
    std::fprintf(stderr, ") lr %.2e gnorm %.3f %.0f tok/s ETA %s%s", e["lr"].get<double>(), e["grad_norm"].get<double>(),
                 e["tokens_per_s"].get<double>(), duration(e["eta_s"].get<double>()).c_str(),
                 e["skipped"].get<bool>() ? " SKIPPED" : "");
    std::fprintf(stderr, tty ? "\033[K" : "\n");
    std::fflush(stderr);
}

void print_human(const Json& e, bool tty) {
    const std::string kind = e["event"];
    if (kind == "step") return print_progress(e, tty);
    if (tty) std::fprintf(stderr, "\n");
    if (kind == "data_report") {
        std::fprintf(stderr, "data: %s\n", e["report"].dump().c_str());
    } else if (kind == "plan") {
        std::fprintf(stderr, "plan: %s on %s, %lld trainable parameters in %lld tensors, %lld steps\n",
                     e["method"].get<std::string>().c_str(), e["backend"].get<std::string>().c_str(),
                     (long long)e["trainable_parameters"].get<int64_t>(), (long long)e["tensors"].get<int64_t>(),
                     (long long)e["steps"].get<int64_t>());
    } else if (kind == "eval") {
        std::fprintf(stderr, "eval at step %lld:", (long long)e["step"].get<int64_t>());
        for (const auto& [d, v] : e["domains"].items())
            std::fprintf(stderr, " %s loss %.4f (ppl %.2f)", d.c_str(), v["loss"].get<double>(), v["ppl"].get<double>());
        std::fprintf(stderr, "\n");
    } else if (kind == "checkpoint") {
        std::fprintf(stderr, "checkpoint: %s\n", e["path"].get<std::string>().c_str());
    } else {
        std::fprintf(stderr, "%s\n", e.dump().c_str());
    }
}

train::RunConfig config_from(const Args& args) {
    const std::vector<std::string>& pos = args.positional();
    if (pos.size() > 1) throw Error("cli.bad_argument", "", "train takes at most one run file");
    train::RunConfig c = pos.empty() ? train::RunConfig{} : train::RunConfig::load(pos[0]);
    if (auto v = args.get("model")) c.model = *v;
    if (auto v = args.get("scratch-config")) {
        c.scratch_config = *v;
        c.model.clear();
    }
    if (auto v = args.get("tokenizer")) c.tokenizer = *v;
    const std::vector<std::string> data = args.get_all("data");
    if (!data.empty()) {
        c.data.sources.clear();
        for (const std::string& d : data) c.data.sources.push_back(train::DataSourceSpec::parse(d));
    }
    if (auto v = args.get("method")) {
        if (*v == "full") c.method = train::TrainMethod::Full;
        else if (*v == "lora") c.method = train::TrainMethod::Lora;
        else if (*v == "mtp-head") c.method = train::TrainMethod::MtpHead;
        else throw Error("cli.bad_argument", "", "--method must be full, lora or mtp-head");
    }
    if (c.method == train::TrainMethod::Lora && c.lora.rank <= 0) c.lora.rank = 16;
    c.schedule.steps = args.get_int("steps", c.schedule.steps);
    c.data.seq_len = args.get_int("seq-len", c.data.seq_len);
    c.data.batch = args.get_int("batch", c.data.batch);
    c.schedule.lr = float(args.get_double("lr", c.schedule.lr));
    if (args.has("seed")) {
        c.seed = uint64_t(args.get_int("seed", 0));
        c.data.seed = c.seed;
        c.lora.seed = c.seed ^ 0x10A4;
    }
    if (auto v = args.get("out")) c.out = *v;
    if (auto v = args.get("backend")) c.backend = *v;
    if (c.schedule.warmup > c.schedule.steps) c.schedule.warmup = c.schedule.steps / 10;
    return c;
}

}  // namespace

int cmd_train(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"model", true, "checkpoint directory to fine-tune"},
        {"scratch-config", true, "config.json of a model trained from scratch (instead of --model)"},
        {"tokenizer", true, "tokenizer folder (default: the model's)"},
        {"data", true, "training data: .jsonl (chat or {\"text\"}), .txt or a folder; PATH=domain tags it (repeatable)"},
        {"method", true, "full | lora | mtp-head (default lora)"},
        {"steps", true, "optimiser steps"},
        {"seq-len", true, "tokens per packed sequence"},
        {"batch", true, "sequences per micro-batch"},
        {"lr", true, "peak learning rate"},
        {"seed", true, "seed of data order, initialisation and dropout"},
        {"out", true, "run folder (checkpoints, history); an existing run there is resumed"},
        {"backend", true, "cpu | cuda | auto (default auto)"},
        {"json", false, "one JSON event per line on stdout"},
        {"dry-run", false, "open the model and the data, print the data report and the plan, train nothing"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("train", "[RUN.toml] [--model DIR] [--data PATH]... [--method lora] [--out DIR]", specs).c_str(),
                   stdout);
        return 0;
    }
    train::RunConfig config = config_from(args);
    const bool json = args.has("json"), tty = !json && ::isatty(2);
    auto sink = [json, tty](const Json& e) {
        if (json) {
            std::printf("%s\n", e.dump().c_str());
            std::fflush(stdout);
        } else {
            print_human(e, tty);
        }
    };
    train::RunControl control;
    g_control = &control;
    std::signal(SIGINT, on_train_stop_signal);
    std::signal(SIGTERM, on_train_stop_signal);
    Json end;
    try {
        config.validate();
        train::TrainingRun run(config, sink, make_backend(config.backend));
        if (args.has("dry-run")) return 0;
        end = run.run(control);
    } catch (const Error& e) {
        // A client reading the event stream (the server's training job) learns why the run ended.
        if (json) sink(Json{{"event", "error"}, {"code", e.code()}, {"message", e.what()}});
        g_control = nullptr;
        throw;
    }
    g_control = nullptr;
    if (tty) std::fprintf(stderr, "\n");
    return end["event"] == "cancelled" ? 130 : 0;
}

}  // namespace moe::cli
