// libFuzzer target for the chat template engine: the input is a template source. It is compiled
// and rendered against a small fixed conversation (tools, tool calls, reasoning, unicode) with
// tight sandbox limits so each input runs in milliseconds. Only moe::Error may escape the engine;
// anything else (crash, sanitizer report, std exception, hang, leak) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "template/chat_template.h"
#include "core/error.h"

namespace {

const nlohmann::ordered_json& conversation() {
    static const nlohmann::ordered_json c = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "Weather in Paris? {{ not a tag }} 你好 😀"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"type": "function", "id": "c1", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "content": "{\"temperature\": 21}"},
      {"role": "assistant", "content": "<think>\nok\n</think>\n\nIt is 21 C.", "reasoning_content": "short"},
      {"role": "user", "content": ""}
    ])");
    return c;
}

const nlohmann::ordered_json& context() {
    static const nlohmann::ordered_json c = nlohmann::ordered_json::parse(R"({
      "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "enable_thinking": false,
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    })");
    return c;
}

moe::ChatTemplateLimits limits() {
    moe::ChatTemplateLimits l;
    l.max_source_bytes = 64 << 10;
    l.max_steps = 20000;
    l.max_output_bytes = 64 << 10;
    l.max_string_bytes = 64 << 10;
    l.max_call_depth = 16;
    return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string source(reinterpret_cast<const char*>(data), size);
    try {
        const moe::ChatTemplate t = moe::ChatTemplate::compile(source, "fuzz", limits());
        (void)t.render(conversation(), true, context());
    } catch (const moe::Error&) {
        // Expected for most inputs: syntax errors, unsupported constructs, limits, runtime errors.
    }
    return 0;
}
