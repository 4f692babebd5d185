// moe-engine bench --streams 1,4,16 --model DIR [--decode-tokens N] [--prompts FILE] [--chat]
//                  [--backend cpu|cuda|auto] [--json out.json]
// Continuous batching measured on a real checkpoint (generate/stream_bench.h): the table on stdout
// as it is measured, the JSON report to --json. Runs on any backend.
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/prompt_text.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "core/version.h"
#include "generate/stream_bench.h"
#include "generate/vocabulary.h"
#include "session/model_session.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {
namespace {

std::vector<int64_t> stream_counts(const std::string& list) {
    std::vector<int64_t> out;
    size_t at = 0;
    while (at <= list.size()) {
        const size_t comma = std::min(list.find(',', at), list.size());
        const std::string item = list.substr(at, comma - at);
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size() || v < 1 || v > 256)
            throw Error("cli.bad_argument", "", "--streams: expected stream counts 1..256 separated by commas, got '" + list + "'");
        out.push_back(v);
        at = comma + 1;
    }
    return out;
}

}  // namespace

int cmd_bench_streams(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"streams", true, "stream counts to measure, e.g. 1,4,16 (one stream is always measured: the base)"},
        {"model", true, "checkpoint directory (with tokenizer.json)"},
        {"decode-tokens", true, "new tokens per stream (default 64)"},
        {"prompts", true, "file of prompts, one per line (\"label<TAB>text\"; default: one per bundled domain); "
                          "stream i decodes prompt i mod their number"},
        {"chat", false, "wrap each prompt in the model's chat template"},
        {"backend", true, "cpu | cuda | auto (default auto)"},
        {"json", true, "write the report here"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("bench", "--streams 1,4,16 --model DIR [--json out.json]", specs).c_str(), stdout);
        return 0;
    }
    StreamBenchOptions o;
    o.streams = stream_counts(args.require("streams"));
    o.decode_tokens = args.get_int("decode-tokens", 64);
    if (o.decode_tokens < 2) throw Error("cli.bad_argument", "", "--decode-tokens must be at least 2");
    const std::string dir = args.require("model");
    const auto tokenizer = Tokenizer::load(dir);
    const auto texts = args.has("prompts") ? read_bench_prompts(*args.get("prompts")) : default_bench_prompts();
    std::vector<BenchPrompt> prompts;
    int64_t longest = 0;
    for (const auto& [label, text] : texts) {
        prompts.push_back({label, encode_prompt(*tokenizer, text, args.has("chat"))});
        longest = std::max<int64_t>(longest, int64_t(prompts.back().tokens.size()));
    }
    ModelSession session = open_model(dir, args.get_or("backend", "auto"), longest + o.decode_tokens);
    if (!session.model->supports_sequences())
        throw Error("cli.bad_argument", dir, "this model cannot hold several sequences, so it cannot batch streams");
    o.vocabulary = vocabulary_mask(session.model->config(), *tokenizer);
    o.on_line = [](const std::string& l) {
        std::printf("%s\n", l.c_str());
        std::fflush(stdout);
    };
    Json report = run_stream_bench(*session.model, prompts, o);
    report["model"] = dir;
    report["backend"] = session.backend->name();
    report["engine_version"] = engine_version();
    report["prompts"] = int64_t(prompts.size());
    if (args.has("json")) {
        write_file_atomic(*args.get("json"), report.dump(2) + "\n");
        spdlog::info("wrote {}", *args.get("json"));
    }
    return 0;
}

}  // namespace moe::cli
