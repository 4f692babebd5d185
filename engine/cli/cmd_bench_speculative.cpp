// moe-engine bench --speculative --model DIR [--draft N] [--decode-tokens N] [--prompts FILE] [--chat]
//                  [--temperature T --seed S] [--backend cpu|cuda|auto] [--json out.json]
// Plain vs speculative decoding of a real checkpoint (generate/speculative_bench.h): the table on
// stdout as it is measured, the JSON report to --json. Runs on any backend.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/prompt_text.h"
#include "cli/speculative_args.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "core/version.h"
#include "generate/speculative_bench.h"
#include "generate/vocabulary.h"
#include "session/model_session.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {
namespace {

// One short prompt per bundled corpus domain, when no --prompts file is given.
const std::vector<std::pair<std::string, std::string>> kDefaultPrompts = {
    {"code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"},
    {"math", "Prove that the sum of the first n odd numbers is n squared. Proof:"},
    {"english", "The history of the printing press begins in the fifteenth century, when"},
    {"chinese", "人工智能的发展历史可以追溯到"},
    {"dialogue", "User: Can you recommend a good book about astronomy?\nAssistant:"}};

// Lines of FILE: "label<TAB>prompt" or just the prompt ("\n" escapes become newlines).
std::vector<std::pair<std::string, std::string>> read_prompts(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error("cli.bad_argument", path, "--prompts: cannot read the file");
    std::vector<std::pair<std::string, std::string>> out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        std::string label = "line " + std::to_string(n), text = line;
        if (const size_t tab = line.find('\t'); tab != std::string::npos) {
            label = line.substr(0, tab);
            text = line.substr(tab + 1);
        }
        for (size_t at = text.find("\\n"); at != std::string::npos; at = text.find("\\n", at + 1)) text.replace(at, 2, "\n");
        out.emplace_back(label, text);
    }
    if (out.empty()) throw Error("cli.bad_argument", path, "--prompts: the file has no prompt");
    return out;
}

}  // namespace

int cmd_bench_speculative(const std::vector<std::string>& argv) {
    std::vector<OptionSpec> specs = {
        {"model", true, "checkpoint directory with MTP modules (and tokenizer.json)"},
        {"decode-tokens", true, "new tokens per generation (default 64)"},
        {"prompts", true, "file of prompts, one per line (\"label<TAB>text\"; default: one per bundled domain)"},
        {"chat", false, "wrap each prompt in the model's chat template"},
        {"temperature", true, "0 = greedy (default); above 0 measures sampled acceptance"},
        {"seed", true, "sampling seed (default 0)"},
        {"backend", true, "cpu | cuda | auto (default auto)"},
        {"json", true, "write the report here"},
        {"help", false, "show this help"}};
    for (const OptionSpec& s : speculative_option_specs()) specs.insert(specs.end() - 1, s);
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("bench", "--speculative --model DIR [--draft N] [--json out.json]", specs).c_str(), stdout);
        return 0;
    }
    const std::string dir = args.require("model");
    const auto tokenizer = Tokenizer::load(dir);
    const auto texts = args.has("prompts") ? read_prompts(*args.get("prompts")) : kDefaultPrompts;
    std::vector<BenchPrompt> prompts;
    int64_t longest = 0;
    for (const auto& [label, text] : texts) {
        prompts.push_back({label, encode_prompt(*tokenizer, text, args.has("chat"))});
        longest = std::max<int64_t>(longest, int64_t(prompts.back().tokens.size()));
    }
    SpeculativeBenchOptions o;
    o.decode_tokens = args.get_int("decode-tokens", 64);
    if (o.decode_tokens < 2) throw Error("cli.bad_argument", "", "--decode-tokens must be at least 2");
    ModelSession session = open_model(dir, args.get_or("backend", "auto"), longest + o.decode_tokens);
    o.draft_tokens = speculative_options(args, *session.model, dir).draft_tokens;
    o.sampling.temperature = float(args.get_double("temperature", 0.0));
    o.sampling.greedy = o.sampling.temperature <= 0.0f;
    o.sampling.seed = uint64_t(args.get_int("seed", 0));
    o.vocabulary = vocabulary_mask(session.model->config(), *tokenizer);
    o.on_line = [](const std::string& l) {
        std::printf("%s\n", l.c_str());
        std::fflush(stdout);
    };
    Json report = run_speculative_bench(*session.model, prompts, o);
    report["model"] = dir;
    report["backend"] = session.backend->name();
    report["engine_version"] = engine_version();
    if (args.has("json")) {
        write_file_atomic(*args.get("json"), report.dump(2) + "\n");
        spdlog::info("wrote {}", *args.get("json"));
    }
    return 0;
}

}  // namespace moe::cli
