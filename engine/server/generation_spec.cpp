#include "server/generation_spec.h"

#include <random>

#include "generate/speculative.h"
#include "server/api_error.h"
#include "tokenizer/tokenizer.h"

namespace moe::server {
namespace {

constexpr int64_t kCompletionsDefaultMaxTokens = 16;  // OpenAI's default for /v1/completions

std::string trim_right(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
    return s;
}

bool names_model(const ModelInfo& m, const std::string& requested) {
    if (requested == m.id || requested == m.dir) return true;
    std::string dir = m.dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    return requested == dir;
}

// OpenAI's rule: prompt + max_tokens must fit the context. Absent max_tokens takes what is left.
int64_t checked_max_tokens(const ServerCore& core, const ModelInfo& m, int64_t prompt_len,
                           std::optional<int64_t> requested, int64_t fallback, const char* prompt_field) {
    const int64_t server_limit = core.options.max_prompt_tokens;
    if (server_limit > 0 && prompt_len > server_limit)
        throw_invalid_request(prompt_field, "the prompt is " + std::to_string(prompt_len) +
                                                " tokens; this server accepts at most " + std::to_string(server_limit) +
                                                " (serve --max-prompt-tokens)", "prompt_too_long");
    const int64_t ctx = m.max_context;
    const int64_t wanted = requested.value_or(std::min(fallback, ctx - prompt_len));
    if (prompt_len < ctx && prompt_len + wanted <= ctx) return wanted;
    const int64_t completion = std::max<int64_t>(wanted, 1);
    throw_invalid_request(prompt_field,
                          "This model's maximum context length is " + std::to_string(ctx) + " tokens. However, you " +
                              "requested " + std::to_string(prompt_len + completion) + " tokens (" +
                              std::to_string(prompt_len) + " in the " + prompt_field + ", " + std::to_string(completion) +
                              " in the completion). Please reduce the length of the " + prompt_field + " or completion.",
                          "context_length_exceeded");
}

SamplingParams sampling_params(const SamplingRequest& s) {
    SamplingParams p;
    p.temperature = float(s.temperature);
    p.greedy = s.temperature <= 0.0;
    p.top_k = s.top_k;
    p.top_p = float(s.top_p);
    p.min_p = float(s.min_p);
    p.repetition_penalty = float(s.repetition_penalty);
    if (s.seed) {
        p.seed = *s.seed;
    } else {
        std::random_device rd;
        p.seed = (uint64_t(rd()) << 32) ^ rd();
    }
    return p;
}

SpeculationPlan speculation_plan(const ServerOptions& o, const ModelInfo& m, const SpeculativeRequest& r) {
    SpeculationPlan p;
    p.requested = r.enabled.value_or(o.speculative);
    if (!p.requested) return p;
    if (m.mtp_modules <= 0) {
        p.reason = "model '" + m.id +
                   "' has no MTP modules to draft with, so this reply was decoded without speculation "
                   "(moe-engine train --method mtp-head adds a drafting head to a checkpoint)";
        return p;
    }
    const int64_t asked = r.draft_tokens.value_or(o.draft_tokens);
    bool clamped = false;
    p.enabled = true;
    p.draft_tokens = effective_draft_tokens(asked, m.mtp_modules, &clamped);
    if (clamped)
        p.warning = "speculative_draft_tokens " + std::to_string(asked) + " is more than the " +
                    std::to_string(m.mtp_modules) + " MTP module(s) of model '" + m.id + "': each step drafts " +
                    std::to_string(p.draft_tokens);
    return p;
}

GenerationSpec base_spec(const ServerOptions& options, std::shared_ptr<const ModelInfo> model,
                         std::vector<int32_t> prompt, const CommonRequest& c) {
    if (c.routed_experts.enabled && !model->is_moe())
        throw_invalid_request("return_routed_experts", "model '" + model->id + "' has no MoE layers to report",
                              "unsupported");
    GenerationSpec spec;
    spec.model = std::move(model);
    spec.prompt = std::move(prompt);
    spec.sampling = sampling_params(c.sampling);
    spec.ignore_eos = c.sampling.ignore_eos;
    spec.text.stop = c.sampling.stop;
    spec.routed_experts = c.routed_experts;
    spec.speculation = speculation_plan(options, *spec.model, c.speculative);
    spec.domain = c.domain;
    return spec;
}

std::string render_chat(const ModelInfo& m, const Json& messages) {
    if (!m.chat_template)
        throw_invalid_request("messages", "model '" + m.id + "' has no chat template; use /v1/completions",
                              "no_chat_template");
    const Json context = {{"bos_token", m.bos_token}, {"eos_token", m.eos_token}};
    return m.chat_template->render(messages, /*add_generation_prompt=*/true, context);
}

}  // namespace

std::shared_ptr<const ModelInfo> resolve_model(const ServerCore& core, const std::string& requested) {
    auto info = core.models.info();
    ApiError e;
    e.status = 404;
    e.type = "invalid_request_error";
    e.code = "model_not_found";
    e.param = "model";
    if (!info) {
        e.message = "no model is loaded; POST /workbench/v1/models/load first (or start serve with --model)";
        throw ApiException(e);
    }
    if (!requested.empty() && !names_model(*info, requested)) {
        e.message = "The model '" + requested + "' does not exist; this server serves '" + info->id + "'";
        throw ApiException(e);
    }
    return info;
}

GenerationSpec chat_spec(const ServerCore& core, std::shared_ptr<const ModelInfo> model, const ChatCompletionRequest& r) {
    const std::string text = render_chat(*model, r.messages);
    // The template writes BOS and the role markers itself, as apply_chat_template(tokenize=True) does.
    std::vector<int32_t> prompt = model->tokenizer->encode(text, false);
    if (prompt.empty()) throw_invalid_request("messages", "the messages render to an empty prompt");
    const int64_t max_new = checked_max_tokens(core, *model, int64_t(prompt.size()), r.common.sampling.max_tokens,
                                               model->max_context, "messages");
    const bool reasoning = model->reasoning;
    const std::string tail = trim_right(text);
    GenerationSpec spec = base_spec(core.options, std::move(model), std::move(prompt), r.common);
    spec.max_new_tokens = max_new;
    spec.text.reasoning = reasoning;
    spec.text.start_in_reasoning = reasoning && tail.size() >= 7 && tail.compare(tail.size() - 7, 7, "<think>") == 0;
    return spec;
}

GenerationSpec completion_spec(const ServerCore& core, std::shared_ptr<const ModelInfo> model, const CompletionRequest& r) {
    std::vector<int32_t> prompt = r.prompt_text ? model->tokenizer->encode(*r.prompt_text, true) : r.prompt_ids;
    const int64_t vocab = int64_t(model->tokenizer->vocab_size());
    for (int32_t id : prompt)
        if (id >= vocab)
            throw_invalid_request("prompt", "token id " + std::to_string(id) + " is outside the vocabulary (" +
                                                std::to_string(vocab) + " ids)");
    if (prompt.empty()) throw_invalid_request("prompt", "'prompt' encodes to no tokens");
    const int64_t max_new = checked_max_tokens(core, *model, int64_t(prompt.size()), r.common.sampling.max_tokens,
                                               kCompletionsDefaultMaxTokens, "prompt");
    GenerationSpec spec = base_spec(core.options, std::move(model), std::move(prompt), r.common);
    spec.max_new_tokens = max_new;
    return spec;
}

}  // namespace moe::server
