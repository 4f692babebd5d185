// moe-engine distill --model DIR --data PATH[=domain]... --out FILE.jsonl [--prompts N] [--prompt-tokens N]
//                    [--new-tokens N] [--chat] [--seed S] [--prompts-tsv FILE] [--backend cpu|cuda|auto]
// Self-distillation data for MTP heads (issue #13): prompts drawn per domain from the data
// (train/data/prompt_sampler.h), each continued by the model's own greedy decoding, written as
// JSONL that `train --method mtp-head --data FILE.jsonl` reads — {"domain", "text"} lines, or with
// --chat {"domain", "messages": [user prompt, assistant reply]} rendered through the chat template,
// so the head learns what the model itself says in the setting it will draft in. --prompts-tsv
// also writes the prompts as a `bench --speculative --prompts` file; --new-tokens 0 writes only that.
// stdout: one JSON summary; progress on stderr.
#include <cstdio>
#include <map>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/prompt_text.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "core/strict_json.h"
#include "generate/generator.h"
#include "generate/vocabulary.h"
#include "session/model_session.h"
#include "tokenizer/tokenizer.h"
#include "train/data/prompt_sampler.h"

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"model", true, "checkpoint directory (with its tokenizer)"},
    {"data", true, "where prompts come from: .txt, .jsonl or a folder; PATH=domain tags it (repeatable)"},
    {"out", true, "the JSONL to write (replaced whole when done)"},
    {"prompts", true, "prompts per domain (default 32)"},
    {"prompt-tokens", true, "tokens per prompt at most (default 32)"},
    {"new-tokens", true, "greedy tokens per continuation at most, fewer at EOS (default 64; 0: prompts only)"},
    {"chat", false, "prompts as user messages through the chat template; replies as assistant messages"},
    {"seed", true, "which prompts are drawn (default 0)"},
    {"prompts-tsv", true, "also write the prompts as 'domain<TAB>prompt' lines (bench --speculative --prompts)"},
    {"backend", true, "cpu | cuda | auto (default auto)"},
    {"help", false, "show this help"}};

// One prompt line of a bench --prompts file: newlines escaped as the reader expects.
std::string tsv_line(const train::DomainPrompt& p) {
    std::string text;
    for (char c : p.text) {
        if (c == '\n') text += "\\n";
        else if (c == '\t') text += ' ';
        else if (c != '\r') text += c;
    }
    return p.domain + "\t" + text + "\n";
}

Json sample_json(const train::DomainPrompt& p, const std::string& reply, bool chat) {
    if (!chat) return {{"domain", p.domain}, {"text", p.text + reply}};
    return {{"domain", p.domain},
            {"messages", Json::array({{{"role", "user"}, {"content", p.text}}, {{"role", "assistant"}, {"content", reply}}})}};
}

}  // namespace

int cmd_distill(const std::vector<std::string>& argv) {
    Args args(argv, kSpecs);
    if (args.has("help")) {
        std::fputs(usage_for("distill", "--model DIR --data PATH... --out FILE.jsonl [options]", kSpecs).c_str(), stdout);
        return 0;
    }
    const std::string model_dir = args.require("model"), out = args.require("out");
    std::vector<train::DataSourceSpec> sources;
    for (const std::string& d : args.get_all("data")) sources.push_back(train::DataSourceSpec::parse(d));
    if (sources.empty()) throw Error("cli.bad_argument", "", "distill needs at least one --data PATH");
    train::PromptSampling sampling;
    sampling.per_domain = args.get_int("prompts", 32);
    sampling.max_tokens = args.get_int("prompt-tokens", 32);
    sampling.seed = uint64_t(args.get_int("seed", 0));
    const int64_t new_tokens = args.get_int("new-tokens", 64);
    if (sampling.per_domain < 1 || sampling.max_tokens < 4 || new_tokens < 0)
        throw Error("cli.bad_argument", "", "--prompts must be >= 1, --prompt-tokens >= 4, --new-tokens >= 0");
    const bool chat = args.has("chat");

    auto tokenizer = Tokenizer::load(model_dir);
    const std::vector<train::DomainPrompt> prompts = train::sample_prompts(sources, *tokenizer, sampling);
    if (args.has("prompts-tsv")) {
        std::string tsv;
        for (const auto& p : prompts) tsv += tsv_line(p);
        write_file_atomic(args.require("prompts-tsv"), tsv);
    }
    std::map<std::string, Json> per_domain;
    std::string jsonl;
    int64_t generated = 0;
    if (new_tokens > 0) {
        auto session = open_model(model_dir, args.get_or("backend", "auto"), sampling.max_tokens * 4 + new_tokens + 256);
        Generator generator(*session.model);
        GenerationOptions go;
        go.max_new_tokens = new_tokens;
        go.vocabulary = vocabulary_mask(session.model->config(), *tokenizer);
        go.sampling.greedy = true;  // the model's own argmax: what greedy verification accepts
        go.sampling.temperature = 0.0f;
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto ids = encode_prompt(*tokenizer, prompts[i].text, chat);
            const GenerationResult r = generator.generate(ids, go);
            const std::string reply = tokenizer->decode(r.tokens, true);
            jsonl += sample_json(prompts[i], reply, chat).dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
            generated += int64_t(r.tokens.size());
            Json& d = per_domain[prompts[i].domain];
            if (d.is_null()) d = {{"samples", 0}, {"tokens", 0}};
            d["samples"] = d["samples"].get<int64_t>() + 1;
            d["tokens"] = d["tokens"].get<int64_t>() + int64_t(r.tokens.size());
            if ((i + 1) % 10 == 0 || i + 1 == prompts.size())
                spdlog::info("distill: {}/{} prompts, {} tokens generated", i + 1, prompts.size(), generated);
        }
        write_file_atomic(out, jsonl);
    }
    const Json summary = {{"out", new_tokens > 0 ? Json(out) : Json(nullptr)},
                          {"prompts", prompts.size()},
                          {"generated_tokens", generated},
                          {"chat", chat},
                          {"domains", per_domain}};
    std::printf("%s\n", summary.dump().c_str());
    return 0;
}

}  // namespace moe::cli
