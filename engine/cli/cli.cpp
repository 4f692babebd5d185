#include "cli/cli.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/version.h"

namespace moe::cli {
namespace {

struct Command {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* summary;
};

constexpr Command kCommands[] = {
    {"inspect", cmd_inspect, "architecture, parameters (total / active per token), memory per dtype"},
    {"tokenize", cmd_tokenize, "text -> token ids (JSON)"},
    {"logits", cmd_logits, "token ids -> float32 logits [T, vocab] (.npy)"},
    {"route", cmd_route, "token ids -> experts and weights per MoE layer and token (JSON)"},
    {"generate", cmd_generate, "prompt -> streamed text, ending with tokens/s"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server with live routing telemetry"},
    {"demo", cmd_demo, "write the demo model (tiny DeepSeek-V3, trained by this engine; --untrained: random) to a directory"},
    {"bench", cmd_bench, "prefill/decode throughput of real-shape models (random weights) on the GPU (JSON)"},
    {"bench-train", cmd_bench_train, "training-step throughput, MFU, memory vs plan: LoRA and full fine-tune (GPU, JSON)"},
    {"download", cmd_download, "fetch a hub repository into the HF cache, resumable and sha256-verified"},
    {"hub", cmd_hub, "hub search / files (with a memory estimate) / scan of the local model library"},
    {"train", cmd_train, "a fine-tune run (full / LoRA / MTP heads) with checkpoints, exact resume and per-domain eval"},
    {"export", cmd_export, "a training run's checkpoint as a Hugging Face checkpoint (LoRA folded in, biases, MTP)"},
    {"grad", cmd_grad, "losses and gradients of one training step, an AdamW step (parity with autograd)"},
    {"distill", cmd_distill, "self-distillation data for MTP heads: prompts from data, continued by the model greedily (JSONL)"},
};

void print_usage(FILE* out) {
    std::fprintf(out, "usage: moe-engine <command> [options]   (moe-engine <command> --help, moe-engine --version)\n\n"
                      "stdout carries only a command's result; logs go to stderr and the log file\n"
                      "($MOE_LOG_FILE, default $XDG_STATE_HOME/moe-workbench/logs/moe-engine.log; empty: none)\n\n"
                      "commands:\n");
    for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int run(int argc, char** argv) {
    setup_logging();  // before anything can log: spdlog's own default logger writes to stdout
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(stdout);
        return 0;
    }
    if (name == "--version") {
        std::printf("moe-engine %s\n", engine_version());
        return 0;
    }
    std::vector<std::string> rest(argv + 2, argv + argc);
    for (const auto& c : kCommands) {
        if (name != c.name) continue;
        try {
            return c.run(rest);
        } catch (const Error& e) {
            spdlog::error("moe-engine {}: {}", c.name, e.what());
            return e.code().rfind("cli.", 0) == 0 ? 2 : 1;
        } catch (const std::exception& e) {
            spdlog::error("moe-engine {}: internal error: {}", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "moe-engine: unknown command '%s'\n", name.c_str());
    print_usage(stderr);
    return 2;
}

}  // namespace moe::cli
