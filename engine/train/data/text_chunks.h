// Plain text documents -> token pieces of at most max_tokens (long text is cut, not truncated).
//
// A document is tokenized whole as the tokenizer encodes a document (add_special_tokens: BOS for
// DeepSeek's Llama-class tokenizer, nothing for Qwen), then cut every max_tokens tokens; a cut is
// moved back by up to 3 tokens so that it does not split a UTF-8 character (byte-level BPE can
// put the bytes of one character in two tokens). No EOS is appended: packed samples never see
// each other, so there is no document separator to learn. Tested in tests/train_data/text_chunks_test.cpp.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace moe {
class Tokenizer;
}

namespace moe::train {

struct TextPiece {
    std::vector<int32_t> tokens;
    int64_t first_line = 1;  // 1-based line of the document the piece starts on
};

std::vector<TextPiece> chunk_document(const Tokenizer& tokenizer, std::string_view text, int64_t max_tokens);

}  // namespace moe::train
