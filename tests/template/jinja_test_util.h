// Helpers for the chat template unit tests: render a template source with a JSON context, or
// return the moe::Error code it fails with.
#pragma once

#include <string>

#include "template/chat_template.h"
#include "core/error.h"

namespace moe::test {

inline std::string render(const std::string& source, const std::string& context_json = "{}",
                          const ChatTemplateLimits& limits = {}) {
    return ChatTemplate::compile(source, "t", limits)
        .render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", "x"}}}), false,
                nlohmann::ordered_json::parse(context_json));
}

// "ok" when it renders, otherwise the error code ("template.syntax", ...).
inline std::string error_code(const std::string& source, const std::string& context_json = "{}",
                              const ChatTemplateLimits& limits = {}) {
    try {
        render(source, context_json, limits);
    } catch (const Error& e) {
        return e.code();
    }
    return "ok";
}

// The full message of the error, or "" when it renders.
inline std::string error_text(const std::string& source, const std::string& context_json = "{}",
                              const ChatTemplateLimits& limits = {}) {
    try {
        render(source, context_json, limits);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace moe::test
