#include "server/openai_response.h"

#include <atomic>
#include <ctime>
#include <random>

namespace moe::server {
namespace {

// Ids: a random per-process prefix plus a counter, so ids are unique without a lock or a syscall each.
std::string next_id_suffix() {
    static const uint64_t prefix = std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32);
    static std::atomic<uint64_t> counter{0};
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%016llx%08llx", (unsigned long long)prefix,
                  (unsigned long long)(counter.fetch_add(1) & 0xffffffffu));
    return buf;
}

bool is_chat(const ResponseIds& ids) { return ids.kind == ResponseKind::Chat; }

Json envelope(const ResponseIds& ids, const char* chat_object, const char* completion_object) {
    return Json{{"id", ids.id},
                {"object", is_chat(ids) ? chat_object : completion_object},
                {"created", ids.created},
                {"model", ids.model},
                {"system_fingerprint", nullptr}};
}

Json workbench_json(const GenerationOutcome& o) {
    Json w = {{"time_to_first_token_ms", o.time_to_first_token_ms},
              {"decode_tokens_per_second", o.decode_tokens_per_second}};
    w["matched_stop"] = o.matched_stop.empty() ? Json(nullptr) : Json(o.matched_stop);
    if (!o.routed_experts.is_null()) w["routed_experts"] = o.routed_experts_info;
    if (!o.completion_tokens_json.is_null()) w["completion_tokens"] = o.completion_tokens_json;
    if (!o.workbench_speculative.is_null()) w["speculative"] = o.workbench_speculative;
    return w;
}

void add_extensions(Json& body, const GenerationOutcome& o) {
    if (!o.routed_experts.is_null()) {
        body["sglext"] = Json{{"routed_experts", o.routed_experts}};
        if (!o.routed_expert_weights.is_null()) body["sglext"]["routed_expert_weights"] = o.routed_expert_weights;
    }
    body["workbench"] = workbench_json(o);
}

Json stream_choice(const ResponseIds& ids, Json delta_or_text, Json finish_reason) {
    Json c = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", std::move(finish_reason)}};
    if (is_chat(ids)) c["delta"] = std::move(delta_or_text);
    else c["text"] = std::move(delta_or_text);
    return c;
}

Json chunk(const ResponseIds& ids, Json choice, bool usage_null) {
    Json j = envelope(ids, "chat.completion.chunk", "text_completion");
    j["choices"] = Json::array({std::move(choice)});
    if (usage_null) j["usage"] = nullptr;
    return j;
}

}  // namespace

ResponseIds new_response_ids(ResponseKind kind, const std::string& model) {
    return ResponseIds{kind, (kind == ResponseKind::Chat ? "chatcmpl-" : "cmpl-") + next_id_suffix(),
                       int64_t(std::time(nullptr)), model};
}

Json usage_json(const GenerationOutcome& o) {
    Json u = {{"prompt_tokens", o.prompt_tokens},
              {"completion_tokens", o.completion_tokens},
              {"total_tokens", o.prompt_tokens + o.completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", o.cached_prompt_tokens}}}};
    if (!o.usage_speculative.is_null()) u["speculative"] = o.usage_speculative;
    return u;
}

Json full_response(const ResponseIds& ids, const ReasoningDelta& text, const GenerationOutcome& o) {
    Json j = envelope(ids, "chat.completion", "text_completion");
    Json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", o.finish_reason}};
    if (is_chat(ids)) {
        Json message = {{"role", "assistant"}, {"content", text.content}};
        message["reasoning_content"] = text.reasoning.empty() ? Json(nullptr) : Json(text.reasoning);
        choice["message"] = std::move(message);
    } else {
        choice["text"] = text.content;
    }
    j["choices"] = Json::array({std::move(choice)});
    j["usage"] = usage_json(o);
    add_extensions(j, o);
    return j;
}

Json role_chunk(const ResponseIds& ids, bool usage_null) {
    return chunk(ids, stream_choice(ids, Json{{"role", "assistant"}, {"content", ""}}, nullptr), usage_null);
}

Json delta_chunk(const ResponseIds& ids, const ReasoningDelta& d, bool usage_null) {
    if (!is_chat(ids)) return chunk(ids, stream_choice(ids, d.content, nullptr), usage_null);
    Json delta = Json::object();
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    if (!d.content.empty()) delta["content"] = d.content;
    return chunk(ids, stream_choice(ids, std::move(delta), nullptr), usage_null);
}

Json finish_chunk(const ResponseIds& ids, const GenerationOutcome& o, bool usage_null) {
    Json j = chunk(ids, stream_choice(ids, is_chat(ids) ? Json::object() : Json(""), o.finish_reason), usage_null);
    add_extensions(j, o);
    return j;
}

Json usage_chunk(const ResponseIds& ids, const GenerationOutcome& o) {
    Json j = envelope(ids, "chat.completion.chunk", "text_completion");
    j["choices"] = Json::array();
    j["usage"] = usage_json(o);
    return j;
}

}  // namespace moe::server
