// Chat templates: turns a conversation into the prompt text a model was trained on, exactly as
// transformers' tokenizer.apply_chat_template(..., tokenize=False) renders it.
//
// transformers runs the template in jinja2's ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True, extensions=[loopcontrols]) with the globals raise_exception(msg) and
// strftime_now(fmt) and a json.dumps-based `tojson` filter; it passes messages, tools, documents,
// add_generation_prompt, the tokenizer's special tokens (bos_token, eos_token...) and any extra
// keyword arguments. This class reproduces that environment with our own sandboxed Jinja subset
// (engine/template/jinja_*); see jinja_error.h for the error codes. A compiled template is immutable:
// one instance may render on several threads at once.
//
//   auto tmpl = ChatTemplate::compile(config["chat_template"], "deepseek-v3");
//   std::string prompt = tmpl.render(messages, /*add_generation_prompt=*/true,
//                                    {{"bos_token", "<｜begin▁of▁sentence｜>"}});
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"

namespace moe {

struct ChatMessage {
    std::string role;
    std::optional<std::string> content;  // nullopt renders as Python None (assistant tool calls)
    Json extra;                          // more keys: tool_calls, reasoning_content, name... (object or null)
};

// The sandbox. Defaults fit long conversations of real models with a wide margin.
struct ChatTemplateLimits {
    size_t max_source_bytes = 1u << 20;
    uint64_t max_steps = 1'000'000;
    size_t max_output_bytes = 4u << 20;
    size_t max_string_bytes = 4u << 20;
    uint32_t max_call_depth = 48;
};

class ChatTemplate {
public:
    // Parses the template; throws moe::Error (template.syntax / template.unsupported / template.limit)
    // naming `name`, the line and the column.
    static ChatTemplate compile(std::string source, std::string name, const ChatTemplateLimits& limits = {});

    // messages: a non-empty JSON array of message objects (an empty one throws
    // template.empty_conversation, as transformers raises ValueError). extra_context: more template variables; "tools" and
    // "documents" default to None as in transformers. Use ordered_json when key order matters to the
    // template (tools|tojson prints keys in the order given; moe::Json sorts them).
    std::string render(const Json& messages, bool add_generation_prompt,
                       const Json& extra_context = Json::object()) const;
    std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                       const nlohmann::ordered_json& extra_context) const;
    std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                       const Json& extra_context = Json::object()) const;

    const std::string& name() const;
    const std::string& source() const;

    struct Impl;

private:
    ChatTemplate() = default;
    std::shared_ptr<const Impl> impl_;
};

}  // namespace moe
