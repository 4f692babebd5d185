// Chat conversations -> training samples with loss on the assistant turns only.
//
// The loss mask comes from the model's own chat template (engine/template), never from searching
// the text: for assistant message i, prompt_i = render(messages[:i], add_generation_prompt=true)
// and turn_i = render(messages[:i+1]); the assistant span is turn_i minus prompt_i (so it holds
// what the model generates: the content, <think> blocks as the template renders them, and the
// end-of-turn token). The text is then tokenized piece by piece between span boundaries, so token
// boundaries sit on span boundaries; BOS is whatever the template writes (no second one).
//
// Some templates render an earlier turn differently once later messages follow (Qwen3 drops the
// reasoning of earlier turns; DeepSeek-V3 moves a later system message to the front). Such a
// turn is not a prefix of the whole conversation, so it is trained in a sample of its own that
// ends with it: the text the model saw when it generated that turn. A template whose generation
// prompt is not a prefix of its own render of the turn (DeepSeek-R1's: the prompt opens <think>,
// the turn has the reasoning stripped) cannot mark what the model writes: data.template_prefix.
// Tested in tests/train_data/chat_masking_test.cpp against the real DeepSeek-V3 and Qwen3 templates.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/strict_json.h"
#include "template/chat_template.h"
#include "train/data/sample.h"

namespace moe {
class Tokenizer;
}

namespace moe::train {

// A rendered training text and the byte ranges [start, end) of its assistant spans (ordered, disjoint).
struct ChatRender {
    std::string text;
    std::vector<std::pair<size_t, size_t>> spans;
};

// Checks a "messages" value: a non-empty array of objects with a role in {system, user, assistant,
// tool} and string content (null only for an assistant message with tool_calls), at least one
// assistant turn. Throws moe::Error data.bad_field / data.unknown_role / data.no_assistant
// (file left empty: the caller names file and line).
void validate_messages(const Json& messages);

class ChatRenderer {
public:
    // Compiles the tokenizer's chat template when it has one. A template that fails to compile
    // is not an error here (text-only data does not need it): has_template() is false and
    // unavailable_reason() says why.
    explicit ChatRenderer(const Tokenizer& tokenizer);

    bool has_template() const { return tmpl_.has_value(); }
    const std::string& unavailable_reason() const { return unavailable_reason_; }

    // One or more renders of a validated conversation (see the file comment). Throws moe::Error:
    // data.no_chat_template, data.assistant_first (nothing to condition the first turn on),
    // data.template_prefix (the generation prompt is not a prefix of the rendered turn),
    // template.* (the template itself raised an error).
    std::vector<ChatRender> render(const Json& messages) const;

    // Tokens with is_target = 1 exactly on the tokens of the assistant spans (token 0 never).
    Sample tokenize(const ChatRender& render) const;

private:
    const Tokenizer& tokenizer_;
    std::optional<ChatTemplate> tmpl_;
    std::string unavailable_reason_;
    Json context_;  // bos_token, eos_token, pad_token, unk_token: those the tokenizer config sets
};

}  // namespace moe::train
