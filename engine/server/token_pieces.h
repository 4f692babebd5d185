// The text piece of every completion token, for `workbench.completion_tokens` (the workbench's token
// routing explorer shows which experts each token went to, so it needs tokens, not just text).
// Pieces follow StreamingDecoder: a token that ends in the middle of a UTF-8 character has "" and the
// token that completes the character carries it; special tokens show their content. The pieces
// concatenate to the decode of all ids (the reply's text before stop-sequence and <think> handling).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "tokenizer/streaming_decoder.h"

namespace moe {
class Tokenizer;
}

namespace moe::server {

class TokenPieces {
public:
    explicit TokenPieces(const Tokenizer& tokenizer) : decoder_(tokenizer, /*skip_special_tokens=*/false) {}

    void push(int32_t id);
    // [{"id", "text"}, ...]; a character left incomplete at the end becomes U+FFFD on the last token.
    Json finish();

private:
    StreamingDecoder decoder_;
    std::vector<int32_t> ids_;
    std::vector<std::string> texts_;
};

}  // namespace moe::server
