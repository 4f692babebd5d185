// moe-engine bench --streams 1,4,16 --model DIR [--decode-tokens N] [--prompts FILE] [--chat]
//                  [--backend cpu|cuda|auto] [--json out.json]
// moe-engine bench --streams 1,4,16 --shape moonlight-16b-a3b [--prompt-tokens N] ...
// Continuous batching measured (generate/stream_bench.h) on a real checkpoint, or on a built-in
// shape with random weights drawn on the GPU (random prompts; what bench's decode rows run): the
// table on stdout as it is measured, the JSON report to --json.
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
#include "model/weight_source.h"
#include "session/gpu_bench.h"
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

// Random prompts for a random-weight shape: there is no tokenizer, and nothing to read.
std::vector<BenchPrompt> random_prompts(int64_t n, int64_t tokens, int64_t vocab) {
    std::vector<BenchPrompt> out;
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int64_t p = 0; p < n; ++p) {
        BenchPrompt prompt{"random " + std::to_string(p), {}};
        for (int64_t t = 0; t < tokens; ++t) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            prompt.tokens.push_back(int32_t((state >> 33) % uint64_t(vocab)));
        }
        out.push_back(std::move(prompt));
    }
    return out;
}

}  // namespace

int cmd_bench_streams(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"streams", true, "stream counts to measure, e.g. 1,4,16 (one stream is always measured: the base)"},
        {"model", true, "checkpoint directory (with tokenizer.json)"},
        {"shape", true, "instead of --model: a built-in shape with random weights on the GPU (bench --help lists them)"},
        {"prompt-tokens", true, "with --shape: tokens per random prompt (default 32)"},
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
    if (o.decode_tokens < 3) throw Error("cli.bad_argument", "", "--decode-tokens must be at least 3 (two are untimed)");
    ModelSession session;
    std::vector<BenchPrompt> prompts;
    std::string source;
    if (args.has("shape")) {
        source = *args.get("shape");
        const ModelConfig config = gpu_bench_shape_config(source);
        const int64_t prompt_tokens = args.get_int("prompt-tokens", 32);
        if (prompt_tokens < 1) throw Error("cli.bad_argument", "", "--prompt-tokens must be at least 1");
        prompts = random_prompts(16, prompt_tokens, config.vocab_size);
        session.backend = make_backend(args.get_or("backend", "cuda"));
        RandomSource weights(config, *session.backend, 1);
        session.model = load_model(weights, ModelOptions{prompt_tokens + o.decode_tokens + 1});
    } else {
        source = args.require("model");
        const auto tokenizer = Tokenizer::load(source);
        const auto texts = args.has("prompts") ? read_bench_prompts(*args.get("prompts")) : default_bench_prompts();
        int64_t longest = 0;
        for (const auto& [label, text] : texts) {
            prompts.push_back({label, encode_prompt(*tokenizer, text, args.has("chat"))});
            longest = std::max<int64_t>(longest, int64_t(prompts.back().tokens.size()));
        }
        session = open_model(source, args.get_or("backend", "auto"), longest + o.decode_tokens);
        o.vocabulary = vocabulary_mask(session.model->config(), *tokenizer);
    }
    if (!session.model->supports_sequences())
        throw Error("cli.bad_argument", source, "this model cannot hold several sequences, so it cannot batch streams");
    o.on_line = [](const std::string& l) {
        std::printf("%s\n", l.c_str());
        std::fflush(stdout);
    };
    Json report = run_stream_bench(*session.model, prompts, o);
    report["model"] = source;
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
