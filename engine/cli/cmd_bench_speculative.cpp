// moe-engine bench --speculative --model DIR [--draft N] [--decode-tokens N] [--prompts FILE] [--chat]
//                  [--temperature T --seed S] [--backend cpu|cuda|auto] [--json out.json]
// Plain vs speculative decoding of a real checkpoint (generate/speculative_bench.h): the table on
// stdout as it is measured, the JSON report to --json. Runs on any backend.
#include <cstdio>
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
    const auto texts = args.has("prompts") ? read_bench_prompts(*args.get("prompts")) : default_bench_prompts();
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
