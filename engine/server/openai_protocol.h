// The OpenAI request bodies the server accepts, parsed and validated into plain structs.
// Every rejection is an ApiException naming the field (`param`) and saying what was expected.
//
// Accepted: model, messages | prompt, max_tokens / max_completion_tokens (the latter wins),
// temperature, top_p, seed, stop (string or list of up to 4), stream, stream_options.include_usage,
// n (1 only), user (ignored). Extensions other servers also take: top_k, min_p, repetition_penalty,
// ignore_eos (vLLM, SGLang); return_routed_experts, routed_experts_start_len (SGLang);
// routed_experts_format, speculative, speculative_draft_tokens, domain (this server). Fields we cannot honour (tools, logprobs, a non-zero
// presence/frequency penalty, echo, suffix) are refused rather than silently ignored; unknown fields are
// ignored, as vLLM does, because SDKs add new optional fields faster than servers learn them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"

namespace moe::server {

struct SamplingRequest {
    std::optional<int64_t> max_tokens;  // absent: the endpoint's default
    double temperature = 1.0;
    double top_p = 1.0;
    int64_t top_k = 0;
    double min_p = 0.0;
    double repetition_penalty = 1.0;
    std::optional<uint64_t> seed;       // absent: a fresh random seed
    std::vector<std::string> stop;      // stop sequences, not included in the output
    bool ignore_eos = false;
};

enum class RoutedExpertsFormat { Base64, Json };

struct RoutedExpertsRequest {
    bool enabled = false;
    RoutedExpertsFormat format = RoutedExpertsFormat::Base64;
    int64_t start_len = 0;  // rows before this token index are left out (SGLang's routed_experts_start_len)
};

// Speculative decoding with the model's MTP modules, per request (docs/api.md).
struct SpeculativeRequest {
    std::optional<bool> enabled;         // absent: the server's default (serve --speculative)
    std::optional<int64_t> draft_tokens; // absent: serve --draft, else one per MTP module
};

struct CommonRequest {
    std::string model;  // "" = whichever model is loaded
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    SamplingRequest sampling;
    RoutedExpertsRequest routed_experts;
    SpeculativeRequest speculative;
    std::string domain;  // the label the request's acceptance counts under ("" = none)
};

struct ChatCompletionRequest {
    CommonRequest common;
    Json messages;  // array of {role, content (string or null), name?, tool_calls?, tool_call_id?, reasoning_content?}
};

struct CompletionRequest {
    CommonRequest common;
    std::optional<std::string> prompt_text;  // either this ...
    std::vector<int32_t> prompt_ids;         // ... or token ids (range-checked against the vocab later)
};

ChatCompletionRequest parse_chat_request(const Json& body);
CompletionRequest parse_completion_request(const Json& body);

}  // namespace moe::server
