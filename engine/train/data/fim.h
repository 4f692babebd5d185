// Fill-in-the-middle (FIM) for code, in prefix-suffix-middle (PSM) order with the model's own
// FIM tokens (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle"):
//   DeepSeek: <｜fim▁begin｜>prefix<｜fim▁hole｜>suffix<｜fim▁end｜>middle<｜end▁of▁sentence｜>
//   Qwen:     <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>middle<|endoftext|>
// The split is at two character positions drawn uniformly from the data RNG. The end-of-text token
// after the middle teaches where a filled-in middle stops. Every token carries loss, as in the
// plain text the piece came from. Tested in tests/train_data/fim_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "train/data/data_rng.h"

namespace moe {
class Tokenizer;
}

namespace moe::train {

enum class FimStyle { None, DeepSeek, Qwen };

struct FimFormat {
    FimStyle style = FimStyle::None;
    int32_t prefix_marker = -1;  // DeepSeek <｜fim▁begin｜>, Qwen <|fim_prefix|>
    int32_t suffix_marker = -1;  // DeepSeek <｜fim▁hole｜>,  Qwen <|fim_suffix|>
    int32_t middle_marker = -1;  // DeepSeek <｜fim▁end｜>,   Qwen <|fim_middle|>
    int32_t end_of_text = -1;    // DeepSeek's EOS, Qwen's <|endoftext|>; -1 when the tokenizer has none

    bool available() const { return style != FimStyle::None; }
    const char* name() const;  // "deepseek", "qwen", "none"

    // Looks the FIM tokens up with token_to_id; None when the tokenizer has neither set.
    static FimFormat detect(const Tokenizer& tokenizer);
};

// Byte offsets of the middle in a UTF-8 text: prefix [0, middle_begin), middle [middle_begin,
// middle_end), suffix [middle_end, size). Both ends fall on character boundaries.
struct FimSplit {
    size_t middle_begin = 0;
    size_t middle_end = 0;
};

// Two character positions uniform in [0, characters], sorted. `text` must be valid UTF-8.
FimSplit draw_fim_split(std::string_view text, DataRng& rng);

// prefix_marker prefix suffix_marker suffix middle_marker middle [end_of_text]; each part tokenized on its own.
std::vector<int32_t> fim_tokens(const Tokenizer& tokenizer, const FimFormat& format, std::string_view text,
                                FimSplit split);

}  // namespace moe::train
