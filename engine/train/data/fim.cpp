#include "train/data/fim.h"

#include <algorithm>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace moe::train {

const char* FimFormat::name() const {
    switch (style) {
        case FimStyle::DeepSeek: return "deepseek";
        case FimStyle::Qwen: return "qwen";
        case FimStyle::None: break;
    }
    return "none";
}

FimFormat FimFormat::detect(const Tokenizer& tokenizer) {
    auto id = [&](const char* token) { return tokenizer.token_to_id(token); };
    FimFormat f;
    const int32_t begin = id("<｜fim▁begin｜>"), hole = id("<｜fim▁hole｜>"), end = id("<｜fim▁end｜>");
    if (begin >= 0 && hole >= 0 && end >= 0) return {FimStyle::DeepSeek, begin, hole, end, tokenizer.eos_id()};
    const int32_t prefix = id("<|fim_prefix|>"), suffix = id("<|fim_suffix|>"), middle = id("<|fim_middle|>");
    if (prefix >= 0 && suffix >= 0 && middle >= 0) {
        const int32_t eot = id("<|endoftext|>");
        return {FimStyle::Qwen, prefix, suffix, middle, eot >= 0 ? eot : tokenizer.eos_id()};
    }
    return f;
}

FimSplit draw_fim_split(std::string_view text, DataRng& rng) {
    std::vector<size_t> boundaries;  // byte offset of every character start, then text.size()
    for (size_t i = 0; i < text.size(); i += tok::utf8_char_len(static_cast<unsigned char>(text[i])))
        boundaries.push_back(i);
    boundaries.push_back(text.size());
    size_t a = boundaries[size_t(rng.below(boundaries.size()))];
    size_t b = boundaries[size_t(rng.below(boundaries.size()))];
    if (a > b) std::swap(a, b);
    return {a, b};
}

std::vector<int32_t> fim_tokens(const Tokenizer& tokenizer, const FimFormat& format, std::string_view text,
                                FimSplit split) {
    std::vector<int32_t> out;
    auto append = [&](std::string_view part) {
        const std::vector<int32_t> ids = tokenizer.encode(part, false);
        out.insert(out.end(), ids.begin(), ids.end());
    };
    out.push_back(format.prefix_marker);
    append(text.substr(0, split.middle_begin));
    out.push_back(format.suffix_marker);
    append(text.substr(split.middle_end));
    out.push_back(format.middle_marker);
    append(text.substr(split.middle_begin, split.middle_end - split.middle_begin));
    if (format.end_of_text >= 0) out.push_back(format.end_of_text);
    return out;
}

}  // namespace moe::train
