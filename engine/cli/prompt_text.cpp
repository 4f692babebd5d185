#include "cli/prompt_text.h"

#include "core/error.h"
#include "core/strict_json.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& text, bool chat,
                                   const std::optional<std::string>& system) {
    if (!chat) return tokenizer.encode(text, true);
    const TokenizerConfig& tc = tokenizer.config();
    if (tc.chat_template.empty())
        throw Error("cli.no_chat_template", "", "--chat: the tokenizer_config.json has no chat_template");
    Json messages = Json::array();
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    messages.push_back({{"role", "user"}, {"content", text}});
    const ChatTemplate tpl = ChatTemplate::compile(tc.chat_template, "chat_template");
    Json context = {{"bos_token", tc.bos_token.value_or("")}, {"eos_token", tc.eos_token.value_or("")}};
    // The template writes the special tokens itself (as apply_chat_template(tokenize=True) does).
    return tokenizer.encode(tpl.render(messages, true, context), false);
}

}  // namespace moe::cli
