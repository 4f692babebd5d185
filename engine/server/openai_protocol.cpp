#include "server/openai_protocol.h"

#include <limits>

#include "server/api_error.h"
#include "server/request_fields.h"

namespace moe::server {
namespace {

constexpr size_t kMaxStopSequences = 4;      // OpenAI's limit
constexpr size_t kMaxStopBytes = 1024;
constexpr int64_t kMaxTokensLimit = 1 << 30;  // the real bound is the context, checked once the prompt is known

std::vector<std::string> parse_stop(const RequestFields& f) {
    const Json* v = f.get("stop");
    if (!v) return {};
    std::vector<std::string> out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        if (v->size() > kMaxStopSequences)
            throw_invalid_request("stop", "'stop' takes at most 4 sequences, got " + std::to_string(v->size()));
        for (const auto& s : *v) {
            if (!s.is_string())
                throw_invalid_request("stop", std::string("'stop' must list strings, got ") + json_type_name(s),
                                      "invalid_type");
            out.push_back(s.get<std::string>());
        }
    } else {
        throw_invalid_request("stop", std::string("'stop' must be a string or a list of strings, got ") +
                                          json_type_name(*v), "invalid_type");
    }
    for (const auto& s : out) {
        if (s.empty()) throw_invalid_request("stop", "'stop' sequences must not be empty");
        if (s.size() > kMaxStopBytes) throw_invalid_request("stop", "'stop' sequences are limited to 1024 bytes");
    }
    return out;
}

SamplingRequest parse_sampling(const RequestFields& f) {
    SamplingRequest s;
    s.max_tokens = f.integer("max_tokens", 1, kMaxTokensLimit);
    if (auto m = f.integer("max_completion_tokens", 1, kMaxTokensLimit)) s.max_tokens = m;
    s.temperature = f.number("temperature", 0.0, 2.0).value_or(1.0);
    s.top_p = f.number("top_p", 0.0, 1.0).value_or(1.0);
    if (s.top_p <= 0.0) throw_invalid_request("top_p", "'top_p' must be greater than 0");
    s.top_k = f.integer("top_k", -1, std::numeric_limits<int32_t>::max()).value_or(0);
    if (s.top_k < 0) s.top_k = 0;  // vLLM spells "off" as -1
    s.min_p = f.number("min_p", 0.0, 1.0).value_or(0.0);
    s.repetition_penalty = f.number("repetition_penalty", 0.01, 100.0).value_or(1.0);
    s.seed = f.unsigned_integer("seed");
    s.stop = parse_stop(f);
    s.ignore_eos = f.boolean("ignore_eos").value_or(false);
    return s;
}

RoutedExpertsRequest parse_routed_experts(const RequestFields& f) {
    RoutedExpertsRequest r;
    r.enabled = f.boolean("return_routed_experts").value_or(false);
    r.start_len = f.integer("routed_experts_start_len", 0, kMaxTokensLimit).value_or(0);
    if (auto fmt = f.string("routed_experts_format")) {
        if (*fmt == "json") r.format = RoutedExpertsFormat::Json;
        else if (*fmt != "base64")
            throw_invalid_request("routed_experts_format", "'routed_experts_format' must be \"base64\" or \"json\"");
    }
    return r;
}

constexpr size_t kMaxDomainBytes = 128;
constexpr int64_t kMaxDraftTokens = 64;

SpeculativeRequest parse_speculative(const RequestFields& f) {
    SpeculativeRequest r;
    r.enabled = f.boolean("speculative");
    r.draft_tokens = f.integer("speculative_draft_tokens", 1, kMaxDraftTokens);
    return r;
}

std::string parse_domain(const RequestFields& f) {
    std::string d = f.string("domain").value_or("");
    if (d.size() > kMaxDomainBytes) throw_invalid_request("domain", "'domain' is limited to 128 bytes");
    return d;
}

// Fields we would otherwise have to ignore silently, which would hand the client a wrong answer.
void refuse_unsupported(const RequestFields& f) {
    if (auto n = f.integer("n", 1, 128); n && *n != 1)
        throw_invalid_request("n", "only n=1 is supported (one model, one sequence per request)", "unsupported");
    if (auto b = f.integer("best_of", 1, 128); b && *b != 1)
        throw_invalid_request("best_of", "only best_of=1 is supported", "unsupported");
    for (const char* key : {"presence_penalty", "frequency_penalty"})
        if (auto p = f.number(key, -2.0, 2.0); p && *p != 0.0)
            throw_invalid_request(key, std::string("'") + key + "' is not supported; use repetition_penalty",
                                  "unsupported");
    for (const char* key : {"logprobs", "echo"}) {
        const Json* v = f.get(key);
        if (v && !(v->is_boolean() && !v->get<bool>()))
            throw_invalid_request(key, std::string("'") + key + "' is not supported", "unsupported");
    }
    if (const Json* t = f.get("tools"); t && !(t->is_array() && t->empty()))
        throw_invalid_request("tools", "tool calling is not supported by this server", "unsupported");
    if (f.has("suffix")) throw_invalid_request("suffix", "'suffix' is not supported", "unsupported");
    if (const Json* rf = f.get("response_format")) {
        if (!rf->is_object() || rf->value("type", "") != "text")
            throw_invalid_request("response_format", "only response_format {\"type\": \"text\"} is supported",
                                  "unsupported");
    }
}

CommonRequest parse_common(const RequestFields& f) {
    refuse_unsupported(f);
    CommonRequest c;
    c.model = f.string("model").value_or("");
    c.stream = f.boolean("stream").value_or(false);
    if (const Json* so = f.get("stream_options")) {
        if (!so->is_object()) throw_invalid_request("stream_options", "'stream_options' must be an object", "invalid_type");
        if (!c.stream)
            throw_invalid_request("stream_options", "'stream_options' is only allowed when 'stream' is true");
        c.include_usage = RequestFields(*so, "stream_options").boolean("include_usage").value_or(false);
    }
    c.sampling = parse_sampling(f);
    c.routed_experts = parse_routed_experts(f);
    c.speculative = parse_speculative(f);
    c.domain = parse_domain(f);
    return c;
}

// OpenAI content parts [{"type": "text", "text": ...}] become one string; images cannot be honoured.
std::string join_content_parts(const Json& parts, const std::string& field) {
    std::string text;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string part = field + "[" + std::to_string(i) + "]";
        if (!parts[i].is_object()) throw_invalid_request(part, "'" + part + "' must be an object", "invalid_type");
        RequestFields pf(parts[i], part);
        const std::string type = pf.require_string("type");
        if (type != "text")
            throw_invalid_request(pf.name("type"), "only text content parts are supported, got '" + type + "'",
                                  "unsupported");
        text += pf.require_string("text");
    }
    return text;
}

Json parse_message(const Json& m, const std::string& field) {
    if (!m.is_object()) throw_invalid_request(field, "'" + field + "' must be an object", "invalid_type");
    RequestFields f(m, field);
    std::string role = f.require_string("role");
    if (role == "developer") role = "system";  // OpenAI's newer name; chat templates know "system"
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
        throw_invalid_request(f.name("role"), "'" + f.name("role") +
                                                  "' must be system, user, assistant, tool or developer, got '" +
                                                  role + "'");
    Json out = {{"role", role}};
    const Json* content = f.get("content");
    if (!content) {
        if (role != "assistant") throw_invalid_request(f.name("content"), "'" + f.name("content") + "' is required",
                                                       "missing_field");
        out["content"] = nullptr;
    } else if (content->is_string()) {
        out["content"] = *content;
    } else if (content->is_array()) {
        out["content"] = join_content_parts(*content, f.name("content"));
    } else {
        throw_invalid_request(f.name("content"), "'" + f.name("content") + "' must be a string or a list of parts, got " +
                                                     json_type_name(*content), "invalid_type");
    }
    for (const char* key : {"name", "tool_call_id", "reasoning_content"})
        if (auto s = f.string(key)) out[key] = *s;
    if (const Json* tc = f.get("tool_calls")) out["tool_calls"] = *tc;
    return out;
}

Json parse_messages(const RequestFields& f) {
    const Json* v = f.get("messages");
    if (!v) throw_invalid_request("messages", "'messages' is required", "missing_field");
    if (!v->is_array()) throw_invalid_request("messages", std::string("'messages' must be an array, got ") +
                                                              json_type_name(*v), "invalid_type");
    if (v->empty()) throw_invalid_request("messages", "'messages' must not be empty");
    Json out = Json::array();
    for (size_t i = 0; i < v->size(); ++i) out.push_back(parse_message((*v)[i], "messages[" + std::to_string(i) + "]"));
    return out;
}

std::vector<int32_t> parse_prompt_ids(const Json& ids) {
    std::vector<int32_t> out;
    for (const auto& id : ids) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
            throw_invalid_request("prompt", "'prompt' token ids must be non-negative integers", "invalid_type");
        out.push_back(int32_t(id.get<int64_t>()));
    }
    return out;
}

}  // namespace

ChatCompletionRequest parse_chat_request(const Json& body) {
    RequestFields f(body);
    ChatCompletionRequest r;
    r.common = parse_common(f);
    r.messages = parse_messages(f);
    return r;
}

CompletionRequest parse_completion_request(const Json& body) {
    RequestFields f(body);
    CompletionRequest r;
    r.common = parse_common(f);
    const Json* p = f.get("prompt");
    if (!p) throw_invalid_request("prompt", "'prompt' is required", "missing_field");
    // A one-element list is a single prompt; more would be a batch, which this server does not take.
    const Json& one = (p->is_array() && p->size() == 1 && !(*p)[0].is_number()) ? (*p)[0] : *p;
    if (one.is_string()) {
        r.prompt_text = one.get<std::string>();
    } else if (one.is_array() && !one.empty() && one[0].is_number()) {
        r.prompt_ids = parse_prompt_ids(one);
    } else if (one.is_array()) {
        throw_invalid_request("prompt", "'prompt' must be one string or one list of token ids (no batches)",
                              one.empty() ? "invalid_value" : "unsupported");
    } else {
        throw_invalid_request("prompt", std::string("'prompt' must be a string or a list of token ids, got ") +
                                            json_type_name(one), "invalid_type");
    }
    if (r.prompt_text && r.prompt_text->empty()) throw_invalid_request("prompt", "'prompt' must not be empty");
    return r;
}

}  // namespace moe::server
