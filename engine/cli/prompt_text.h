// A prompt as token ids, the way `generate` and `bench --speculative` take it: raw text (with BOS
// as the tokenizer config says) or rendered through the model's chat template.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moe {
class Tokenizer;
}

namespace moe::cli {

// chat: one user message (after `system` when given), the generation prompt added. Throws
// "cli.no_chat_template" when the tokenizer_config.json has none.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& text, bool chat,
                                   const std::optional<std::string>& system = std::nullopt);

// Labelled prompts for the benchmarks (bench --speculative, bench --streams).
using LabelledPrompts = std::vector<std::pair<std::string, std::string>>;
// Lines of FILE: "label<TAB>prompt" or just the prompt ("\n" escapes become newlines). Throws
// "cli.bad_argument" naming the file when it cannot be read or holds no prompt.
LabelledPrompts read_bench_prompts(const std::string& path);
// One short prompt per bundled corpus domain, when no --prompts file is given.
const LabelledPrompts& default_bench_prompts();

}  // namespace moe::cli
