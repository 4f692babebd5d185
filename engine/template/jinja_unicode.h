// Unicode helpers with Python 3 `str` semantics for the Jinja engine.
//
// Jinja runs on Python strings: lengths, indices and slices count code points, `str.split()` and
// `strip()` use Python's idea of whitespace, `repr()` escapes non-printable characters. Our strings
// are UTF-8, so every operation that Python defines per code point decodes first. Category data
// comes from utf8proc (its Unicode version can differ slightly from the running Python's).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moe::jinja {

// Decodes strictly: returns false on malformed UTF-8, overlongs or surrogates.
bool utf8_valid(std::string_view s);
// Decodes valid UTF-8 (call utf8_valid on untrusted input first).
std::u32string utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(std::u32string_view s);
// Number of code points in valid UTF-8.
size_t utf8_length(std::string_view s);
// Decodes the code point at byte offset i and advances i past it.
char32_t utf8_next(std::string_view s, size_t& i);

// Python str.isspace() for one code point (also what `\s` matches in Python's `re`).
bool py_isspace(char32_t c);
// Python str.splitlines() boundaries (\r\n is handled by the caller).
bool py_is_line_break(char32_t c);
// Python `\w` in `re` (str.isalnum() or '_').
bool py_is_word(char32_t c);
bool py_isalpha(char32_t c);
bool py_isdigit(char32_t c);
bool py_isalnum(char32_t c);
bool py_isprintable(char32_t c);
bool py_is_cased(char32_t c);
bool py_is_lower(char32_t c);
bool py_is_upper(char32_t c);
bool py_is_identifier(std::u32string_view s);
// Characters jinja2's name regex accepts (\w plus combining marks and connectors).
bool py_is_name_char(char32_t c);

// Simple (1:1) case mappings; Python's full mappings (e.g. "ß".upper() == "SS") are not reproduced.
char32_t py_toupper(char32_t c);
char32_t py_tolower(char32_t c);
char32_t py_totitle(char32_t c);

std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_title(std::string_view s);       // str.title()

}  // namespace moe::jinja
