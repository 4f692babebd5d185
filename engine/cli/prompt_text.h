// A prompt as token ids, the way `generate` and `bench --speculative` take it: raw text (with BOS
// as the tokenizer config says) or rendered through the model's chat template.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe {
class Tokenizer;
}

namespace moe::cli {

// chat: one user message (after `system` when given), the generation prompt added. Throws
// "cli.no_chat_template" when the tokenizer_config.json has none.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& text, bool chat,
                                   const std::optional<std::string>& system = std::nullopt);

}  // namespace moe::cli
