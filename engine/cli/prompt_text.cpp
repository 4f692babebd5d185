#include "cli/prompt_text.h"

#include <fstream>

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

LabelledPrompts read_bench_prompts(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error("cli.bad_argument", path, "--prompts: cannot read the file");
    LabelledPrompts out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        std::string label = "line " + std::to_string(n), text = line;
        if (const size_t tab = line.find('\t'); tab != std::string::npos) {
            label = line.substr(0, tab);
            text = line.substr(tab + 1);
        }
        for (size_t at = text.find("\\n"); at != std::string::npos; at = text.find("\\n", at + 1)) text.replace(at, 2, "\n");
        out.emplace_back(label, text);
    }
    if (out.empty()) throw Error("cli.bad_argument", path, "--prompts: the file has no prompt");
    return out;
}

const LabelledPrompts& default_bench_prompts() {
    static const LabelledPrompts prompts = {
        {"code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"},
        {"math", "Prove that the sum of the first n odd numbers is n squared. Proof:"},
        {"english", "The history of the printing press begins in the fifteenth century, when"},
        {"chinese", "人工智能的发展历史可以追溯到"},
        {"dialogue", "User: Can you recommend a good book about astronomy?\nAssistant:"}};
    return prompts;
}

}  // namespace moe::cli
