// moe-engine generate --model DIR --prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S]
//                     [--speculative [--draft N]] [--json]
// Streams the text to stdout as it is generated and ends with a timing line on stderr (with
// --speculative, the acceptance counters too). --json prints one JSON object instead:
// {"text", "tokens", "prompt_tokens", "stop_reason", "decode_tokens_per_second", "speculative"?}.
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/prompt_text.h"
#include "cli/speculative_args.h"
#include "core/error.h"
#include "generate/generator.h"
#include "generate/vocabulary.h"
#include "session/model_session.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"model", true, "checkpoint directory (with tokenizer.json)"},
    {"tokenizer", true, "tokenizer directory (default: the model directory)"},
    {"prompt", true, "prompt text"},
    {"system", true, "system prompt (with --chat)"},
    {"chat", false, "wrap the prompt in the model's chat template (tokenizer_config.json)"},
    {"max-tokens", true, "new tokens at most (default 128)"},
    {"temperature", true, "0 = greedy (default 0.6 with --chat, else 0)"},
    {"top-k", true, "keep the k most likely tokens (0 = off)"},
    {"top-p", true, "nucleus sampling threshold (1 = off)"},
    {"min-p", true, "drop tokens below min-p x the top probability (0 = off)"},
    {"repetition-penalty", true, "HF repetition penalty (1 = off)"},
    {"seed", true, "sampling seed (default 0)"},
    {"ignore-eos", false, "keep going past the end-of-sequence token"},
    {"backend", true, "cpu | cuda | auto (default auto)"},
    {"json", false, "print one JSON object (text, token ids, speculative counters) instead of streaming"},
    {"help", false, "show this help"}};

std::vector<OptionSpec> all_specs() {
    std::vector<OptionSpec> specs = kSpecs;
    for (const OptionSpec& s : speculative_option_specs()) specs.insert(specs.end() - 1, s);
    return specs;
}

// The --json result: the text, the ids and, when speculating, the acceptance counters.
Json result_json(const GenerationResult& r, const std::string& text) {
    Json j = {{"text", text},
              {"tokens", r.tokens},
              {"prompt_tokens", r.prompt_tokens},
              {"stop_reason", stop_reason_name(r.stop_reason)},
              {"decode_tokens_per_second", r.decode_tokens_per_second()}};
    if (r.speculative) {
        j["speculative"] = r.speculation.to_json();
        j["speculative"]["draft_tokens"] = r.draft_tokens;
    }
    return j;
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = all_specs();
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("generate", "--model DIR --prompt TEXT [--chat] [--speculative] [options]", specs).c_str(),
                   stdout);
        return 0;
    }
    const std::string model_dir = args.require("model");
    auto tokenizer = Tokenizer::load(args.get_or("tokenizer", model_dir));
    const auto prompt = encode_prompt(*tokenizer, args.require("prompt"), args.has("chat"), args.get("system"));
    const int64_t max_new = args.get_int("max-tokens", 128);
    auto session = open_model(model_dir, args.get_or("backend", "auto"), int64_t(prompt.size()) + max_new);

    GenerationOptions options;
    options.max_new_tokens = max_new;
    options.ignore_eos = args.has("ignore-eos");
    options.vocabulary = vocabulary_mask(session.model->config(), *tokenizer);  // the same rule as serve
    options.sampling.temperature = float(args.get_double("temperature", args.has("chat") ? 0.6 : 0.0));
    options.sampling.greedy = options.sampling.temperature <= 0.0f;
    options.sampling.top_k = args.get_int("top-k", 0);
    options.sampling.top_p = float(args.get_double("top-p", 1.0));
    options.sampling.min_p = float(args.get_double("min-p", 0.0));
    options.sampling.repetition_penalty = float(args.get_double("repetition-penalty", 1.0));
    options.sampling.seed = uint64_t(args.get_int("seed", 0));
    options.speculative = speculative_options(args, *session.model, model_dir);
    const bool json = args.has("json");
    StreamingDecoder decoder(*tokenizer);
    std::string text;
    options.on_token = [&](int32_t id) {
        const std::string piece = decoder.push(id);
        if (json) {
            text += piece;
        } else {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
        }
        return true;
    };

    Generator generator(*session.model);
    const GenerationResult r = generator.generate(prompt, options);
    const std::string tail = decoder.flush();
    if (json) {
        std::printf("%s\n", result_json(r, text + tail).dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    } else {
        std::fwrite(tail.data(), 1, tail.size(), stdout);
        std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    spdlog::info("[{} prompt tokens in {:.3f} s, {} new tokens, {:.2f} tokens/s, stop: {}]", r.prompt_tokens,
                 r.prefill_seconds, r.tokens.size(), r.decode_tokens_per_second(), stop_reason_name(r.stop_reason));
    if (r.speculative) spdlog::info("{}", speculative_summary(r.speculation, r.draft_tokens));
    return 0;
}

}  // namespace moe::cli
