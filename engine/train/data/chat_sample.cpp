#include "train/data/chat_sample.h"

#include <algorithm>
#include <array>
#include <deque>
#include <string_view>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace moe::train {
namespace {

constexpr std::array<std::string_view, 4> kRoles = {"system", "user", "assistant", "tool"};

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

[[noreturn]] void bad_message(size_t i, const std::string& what) {
    throw Error("data.bad_field", "", "message " + std::to_string(i) + ": " + what);
}

// Up to max_bytes of s from byte `from` (whole UTF-8 characters, newlines shown as \n), for error messages.
std::string excerpt(const std::string& s, size_t from, size_t max_bytes = 32) {
    while (from > 0 && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) --from;
    size_t end = std::min(s.size(), from + max_bytes);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
    std::string out;
    for (char c : s.substr(from, end - from)) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    return out;
}

Json first_messages(const Json& messages, size_t n) {
    Json out = Json::array();
    for (size_t i = 0; i < n; ++i) out.push_back(messages[i]);
    return out;
}

// prompt_i and turn_i of one assistant message.
struct TurnRender {
    size_t message = 0;
    std::string prompt;  // render(messages[:i], add_generation_prompt=true)
    std::string turn;    // render(messages[:i+1])
};

}  // namespace

void validate_messages(const Json& messages) {
    if (!messages.is_array() || messages.empty())
        throw Error("data.bad_field", "", "\"messages\" must be a non-empty array of {\"role\", \"content\"} objects");
    bool has_assistant = false;
    for (size_t i = 0; i < messages.size(); ++i) {
        const Json& m = messages[i];
        if (!m.is_object()) bad_message(i, "not a JSON object");
        if (!m.contains("role") || !m["role"].is_string()) bad_message(i, "no \"role\" string");
        const std::string role = m["role"].get<std::string>();
        if (std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end())
            throw Error("data.unknown_role", "",
                        "message " + std::to_string(i) + ": unknown role '" + role +
                            "' (expected system, user, assistant or tool)");
        if (!m.contains("content")) bad_message(i, "no \"content\"");
        const Json& content = m["content"];
        const bool tool_call = role == "assistant" && content.is_null() && m.contains("tool_calls");
        if (!content.is_string() && !tool_call)
            bad_message(i, "\"content\" must be a string (null only for an assistant message with tool_calls)");
        has_assistant = has_assistant || role == "assistant";
    }
    if (!has_assistant)
        throw Error("data.no_assistant", "", "the conversation has no assistant message, so no token would carry loss");
}

ChatRenderer::ChatRenderer(const Tokenizer& tokenizer) : tokenizer_(tokenizer), context_(Json::object()) {
    const TokenizerConfig& tc = tokenizer.config();
    if (tc.chat_template.empty()) {
        unavailable_reason_ = "the tokenizer (" + tokenizer.source() + ") has no chat template";
    } else {
        try {
            tmpl_ = ChatTemplate::compile(tc.chat_template, tokenizer.source() + " chat_template");
        } catch (const Error& e) {
            unavailable_reason_ = std::string("the tokenizer's chat template does not compile: ") + e.what();
        }
    }
    // transformers passes the special tokens that are set (special_tokens_map), and only those.
    if (tc.bos_token) context_["bos_token"] = *tc.bos_token;
    if (tc.eos_token) context_["eos_token"] = *tc.eos_token;
    if (tc.pad_token) context_["pad_token"] = *tc.pad_token;
    if (tc.unk_token) context_["unk_token"] = *tc.unk_token;
}

std::vector<ChatRender> ChatRenderer::render(const Json& messages) const {
    if (!tmpl_) throw Error("data.no_chat_template", tokenizer_.source(), unavailable_reason_);
    std::vector<TurnRender> turns;
    for (size_t i = 0; i < messages.size(); ++i) {
        if (messages[i]["role"] != "assistant") continue;
        if (i == 0)
            throw Error("data.assistant_first", "",
                        "message 0 is an assistant message: there is no prompt to condition it on");
        TurnRender t{i, tmpl_->render(first_messages(messages, i), true, context_),
                     tmpl_->render(first_messages(messages, i + 1), false, context_)};
        if (!starts_with(t.turn, t.prompt)) {
            const size_t same = size_t(std::mismatch(t.prompt.begin(), t.prompt.end(), t.turn.begin(), t.turn.end()).first -
                                       t.prompt.begin());
            throw Error("data.template_prefix", "",
                        "message " + std::to_string(i) + ": the chat template's generation prompt ('..." +
                            excerpt(t.prompt, same) + "') is not a prefix of its own render of the assistant turn ('..." +
                            excerpt(t.turn, same) +
                            "'): the template rewrites assistant messages (DeepSeek-R1's opens <think> in the prompt "
                            "and strips the reasoning from the turn), so its renders cannot mark what the model writes; "
                            "train with a template that keeps the assistant text");
        }
        turns.push_back(std::move(t));
    }

    // Each pass renders the conversation up to the last turn not yet trained and takes every
    // earlier untrained turn whose render is a prefix of that text (ordered, disjoint).
    std::deque<size_t> pending;
    for (size_t k = 0; k < turns.size(); ++k) pending.push_back(k);
    std::vector<ChatRender> out;
    while (!pending.empty()) {
        ChatRender r{turns[pending.back()].turn, {}};
        std::deque<size_t> later;
        size_t limit = r.text.size();
        for (size_t k = pending.size(); k-- > 0;) {
            const TurnRender& t = turns[pending[k]];
            if (t.turn.size() <= limit && starts_with(r.text, t.turn)) {
                if (t.turn.size() > t.prompt.size()) r.spans.insert(r.spans.begin(), {t.prompt.size(), t.turn.size()});
                limit = t.prompt.size();
            } else {
                later.push_front(pending[k]);
            }
        }
        out.push_back(std::move(r));
        pending = std::move(later);
    }
    std::reverse(out.begin(), out.end());  // in the order of their last turn
    return out;
}

Sample ChatRenderer::tokenize(const ChatRender& r) const {
    std::vector<size_t> cuts = {0, r.text.size()};
    for (const auto& [start, end] : r.spans) {
        cuts.push_back(start);
        cuts.push_back(end);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

    Sample s;
    size_t span = 0;
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
        const size_t begin = cuts[c], end = cuts[c + 1];
        while (span < r.spans.size() && r.spans[span].second <= begin) ++span;
        const bool assistant = span < r.spans.size() && r.spans[span].first <= begin;
        const std::vector<int32_t> ids = tokenizer_.encode(std::string_view(r.text).substr(begin, end - begin), false);
        s.tokens.insert(s.tokens.end(), ids.begin(), ids.end());
        s.is_target.insert(s.is_target.end(), ids.size(), assistant ? 1 : 0);
    }
    if (!s.is_target.empty()) s.is_target[0] = 0;
    return s;
}

}  // namespace moe::train
