// Tokenizer reproducing jinja2's Lexer for trim_blocks=True, lstrip_blocks=True.
//
// Whitespace control happens here, exactly where jinja2 does it: "-" on a tag start strips the
// text before it, "-" on a tag end strips whitespace after it, "%}" and "#}" eat one following
// newline (trim_blocks), and a block or comment tag alone on its line loses the indentation in
// front of it (lstrip_blocks) unless it starts with "+".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "template/jinja_error.h"

namespace moe::jinja {

enum class Tok : uint8_t { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Op, Eof };

struct Token {
    Tok type = Tok::Eof;
    std::string text;  // data, name, decoded string literal, operator spelling
    int64_t int_value = 0;
    double float_value = 0;
    Pos pos;
};

// Normalizes newlines like jinja2 (\r\n and \r become \n, one trailing newline is dropped).
// Throws JinjaError template.syntax with a position.
std::vector<Token> tokenize(std::string_view source);

}  // namespace moe::jinja
