#include "train/data/text_chunks.h"

#include <algorithm>

#include "tokenizer/tokenizer.h"

namespace moe::train {
namespace {

// True when token `id` starts in the middle of a UTF-8 character (its first byte is a continuation byte).
bool starts_mid_character(const Tokenizer& tokenizer, int32_t id) {
    const std::string_view bytes = tokenizer.token_bytes(id);
    return !bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0xC0) == 0x80;
}

int64_t newlines(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, size_t begin, size_t end) {
    int64_t n = 0;
    for (size_t i = begin; i < end; ++i) {
        const std::string_view b = tokenizer.token_bytes(ids[i]);
        n += std::count(b.begin(), b.end(), '\n');
    }
    return n;
}

}  // namespace

std::vector<TextPiece> chunk_document(const Tokenizer& tokenizer, std::string_view text, int64_t max_tokens) {
    const std::vector<int32_t> ids = tokenizer.encode(text, true);
    std::vector<TextPiece> pieces;
    const size_t step = size_t(std::max<int64_t>(max_tokens, 1));
    int64_t line = 1;
    for (size_t begin = 0; begin < ids.size();) {
        size_t end = std::min(begin + step, ids.size());
        if (end < ids.size()) {
            size_t back = end;
            while (back > begin + 1 && end - back < 3 && starts_mid_character(tokenizer, ids[back])) --back;
            if (!starts_mid_character(tokenizer, ids[back])) end = back;
        }
        pieces.push_back({std::vector<int32_t>(ids.begin() + std::ptrdiff_t(begin), ids.begin() + std::ptrdiff_t(end)), line});
        line += newlines(tokenizer, ids, begin, end);
        begin = end;
    }
    return pieces;
}

}  // namespace moe::train
