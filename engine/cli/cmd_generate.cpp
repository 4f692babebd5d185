// moe-engine generate --model DIR --prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S]
// Streams the text to stdout as it is generated and ends with a timing line on stderr.
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "generate/generator.h"
#include "generate/vocabulary.h"
#include "session/model_session.h"
#include "template/chat_template.h"
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
    {"help", false, "show this help"}};

// The prompt as token ids: raw (with BOS as the tokenizer config says) or through the chat template.
std::vector<int32_t> prompt_ids(const Tokenizer& tokenizer, const Args& args) {
    const std::string prompt = args.require("prompt");
    if (!args.has("chat")) return tokenizer.encode(prompt, true);
    const TokenizerConfig& tc = tokenizer.config();
    if (tc.chat_template.empty())
        throw Error("cli.no_chat_template", "", "--chat: the tokenizer_config.json has no chat_template");
    Json messages = Json::array();
    if (auto sys = args.get("system")) messages.push_back({{"role", "system"}, {"content", *sys}});
    messages.push_back({{"role", "user"}, {"content", prompt}});
    const ChatTemplate tpl = ChatTemplate::compile(tc.chat_template, "chat_template");
    Json context = {{"bos_token", tc.bos_token.value_or("")}, {"eos_token", tc.eos_token.value_or("")}};
    const std::string text = tpl.render(messages, true, context);
    // The template writes the special tokens itself (as apply_chat_template(tokenize=True) does).
    return tokenizer.encode(text, false);
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
    Args args(argv, kSpecs);
    if (args.has("help")) {
        std::fputs(usage_for("generate", "--model DIR --prompt TEXT [--chat] [options]", kSpecs).c_str(), stdout);
        return 0;
    }
    const std::string model_dir = args.require("model");
    auto tokenizer = Tokenizer::load(args.get_or("tokenizer", model_dir));
    const auto prompt = prompt_ids(*tokenizer, args);
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
    StreamingDecoder decoder(*tokenizer);
    options.on_token = [&](int32_t id) {
        const std::string piece = decoder.push(id);
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };

    Generator generator(*session.model);
    const GenerationResult r = generator.generate(prompt, options);
    const std::string tail = decoder.flush();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    spdlog::info("[{} prompt tokens in {:.3f} s, {} new tokens, {:.2f} tokens/s, stop: {}]", r.prompt_tokens,
                 r.prefill_seconds, r.tokens.size(), r.decode_tokens_per_second(), stop_reason_name(r.stop_reason));
    return 0;
}

}  // namespace moe::cli
