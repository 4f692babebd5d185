#include "template/jinja_lexer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

std::string normalize_newlines(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            out += '\n';
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else {
            out += in[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
    return out;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
public:
    explicit Lexer(std::string src) : src_(std::move(src)) {
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<Token> run() {
        while (pos_ < src_.size()) root_step();
        Token eof;
        eof.type = Tok::Eof;
        eof.pos = pos_at(src_.size());
        out_.push_back(std::move(eof));
        return std::move(out_);
    }

private:
    std::string src_;
    size_t pos_ = 0;
    std::vector<Token> out_;
    std::vector<size_t> line_starts_;

    Pos pos_at(size_t off) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
        const size_t line = static_cast<size_t>(it - line_starts_.begin());
        const size_t start = line_starts_[line - 1];
        const size_t col = utf8_length(std::string_view(src_).substr(start, off - start)) + 1;
        return Pos{static_cast<uint32_t>(line), static_cast<uint32_t>(col)};
    }

    [[noreturn]] void syntax_error(const std::string& msg, size_t off) const { fail("template.syntax", msg, pos_at(off)); }

    bool starts_with(size_t at, std::string_view s) const { return src_.compare(at, s.size(), s) == 0; }

    size_t skip_ws(size_t at) const {
        while (at < src_.size()) {
            size_t next = at;
            if (!py_isspace(utf8_next(src_, next))) break;
            at = next;
        }
        return at;
    }

    void emit(Tok type, std::string text, size_t at) {
        Token t;
        t.type = type;
        t.text = std::move(text);
        t.pos = pos_at(at);
        out_.push_back(std::move(t));
    }

    // Python str.rstrip() of the text before a "-" tag.
    static std::string_view rstrip_ws(std::string_view text) {
        size_t i = 0, keep = 0;
        while (i < text.size()) {
            if (!py_isspace(utf8_next(text, i))) keep = i;
        }
        return text.substr(0, keep);
    }

    // jinja2's OptionalLStrip: "-" strips all trailing whitespace; otherwise lstrip_blocks removes
    // the indentation of a block/comment tag that is alone on its line.
    static std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_allowed, bool line_starting) {
        if (sign == '-') return rstrip_ws(text);
        if (sign == '+' || !lstrip_allowed) return text;
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        if (l_pos == 0 && !line_starting) return text;
        std::string_view tail = text.substr(l_pos);
        if (tail.empty()) return text;
        size_t i = 0;
        while (i < tail.size())
            if (!py_isspace(utf8_next(tail, i))) return text;
        return text.substr(0, l_pos);
    }

    size_t find_tag_start(size_t from) const {
        for (size_t i = src_.find('{', from); i != std::string::npos && i + 1 < src_.size(); i = src_.find('{', i + 1)) {
            const char c = src_[i + 1];
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return std::string::npos;
    }

    void emit_data(std::string_view text, size_t at) {
        if (!text.empty()) emit(Tok::Data, std::string(text), at);
    }

    void root_step() {
        const size_t tag = find_tag_start(pos_);
        if (tag == std::string::npos) {
            emit_data(std::string_view(src_).substr(pos_), pos_);
            pos_ = src_.size();
            return;
        }
        const bool line_starting = pos_ == 0 || src_[pos_ - 1] == '\n';
        std::string_view text = std::string_view(src_).substr(pos_, tag - pos_);
        const size_t text_at = pos_;
        const char kind = src_[tag + 1];
        if (kind == '%' && lex_raw(tag, text, text_at, line_starting)) return;
        const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
        emit_data(strip_before_tag(text, sign, kind != '{', line_starting), text_at);
        const size_t after = tag + 2 + (sign ? 1 : 0);
        if (kind == '#') {
            pos_ = skip_comment(after, tag);
            return;
        }
        emit(kind == '%' ? Tok::BlockBegin : Tok::VarBegin, "", tag);
        pos_ = after;
        lex_tag(kind == '%');
    }

    size_t skip_comment(size_t from, size_t tag) const {
        for (size_t i = from; i < src_.size(); ++i) {
            if (src_[i] == '#' && starts_with(i, "#}")) {
                size_t end = i + 2;
                return end < src_.size() && src_[end] == '\n' ? end + 1 : end;  // trim_blocks
            }
            if ((src_[i] == '-' || src_[i] == '+') && starts_with(i + 1, "#}"))
                return src_[i] == '-' ? skip_ws(i + 3) : i + 3;
        }
        syntax_error("Missing end of comment tag", tag);
    }

    // {% raw %}...{% endraw %}: returns false when the block tag at `tag` is not a raw tag.
    bool lex_raw(size_t tag, std::string_view text, size_t text_at, bool line_starting) {
        size_t p = tag + 2;
        const char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : 0;
        if (sign) ++p;
        p = skip_ws(p);
        if (!starts_with(p, "raw")) return false;
        p = skip_ws(p + 3);
        if (starts_with(p, "-%}"))
            p = skip_ws(p + 3);
        else if (starts_with(p, "%}"))
            p += 2;
        else
            return false;
        emit_data(strip_before_tag(text, sign, true, line_starting), text_at);
        const size_t content = p;
        for (size_t i = src_.find("{%", content); i != std::string::npos; i = src_.find("{%", i + 1)) {
            size_t q = i + 2;
            const char end_sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
            if (end_sign) ++q;
            q = skip_ws(q);
            if (!starts_with(q, "endraw")) continue;
            q = skip_ws(q + 6);
            size_t end;
            if (starts_with(q, "+%}"))
                end = q + 3;
            else if (starts_with(q, "-%}"))
                end = skip_ws(q + 3);
            else if (starts_with(q, "%}"))
                end = q + 2 < src_.size() && src_[q + 2] == '\n' ? q + 3 : q + 2;
            else
                continue;
            const bool starting = content == 0 || src_[content - 1] == '\n';
            std::string_view body = std::string_view(src_).substr(content, i - content);
            emit_data(strip_before_tag(body, end_sign, true, starting), content);
            pos_ = end;
            return true;
        }
        syntax_error("Missing end of raw directive", tag);
    }

    bool lex_tag_end(bool block) {
        if (block) {
            if (starts_with(pos_, "+%}")) {
                emit(Tok::BlockEnd, "", pos_);
                pos_ += 3;
            } else if (starts_with(pos_, "-%}")) {
                emit(Tok::BlockEnd, "", pos_);
                pos_ = skip_ws(pos_ + 3);
            } else if (starts_with(pos_, "%}")) {
                emit(Tok::BlockEnd, "", pos_);
                pos_ += 2;
                if (pos_ < src_.size() && src_[pos_] == '\n') ++pos_;  // trim_blocks
            } else {
                return false;
            }
            return true;
        }
        if (starts_with(pos_, "-}}")) {
            emit(Tok::VarEnd, "", pos_);
            pos_ = skip_ws(pos_ + 3);
        } else if (starts_with(pos_, "}}")) {
            emit(Tok::VarEnd, "", pos_);
            pos_ += 2;
        } else {
            return false;
        }
        return true;
    }

    void lex_tag(bool block) {
        std::vector<char> balance;
        while (pos_ < src_.size()) {
            if (balance.empty() && lex_tag_end(block)) return;
            size_t next = pos_;
            if (py_isspace(utf8_next(src_, next))) {
                pos_ = skip_ws(pos_);
                continue;
            }
            if (lex_float() || lex_integer() || lex_name() || lex_string() || lex_operator(balance)) continue;
            size_t cp_end = pos_;
            utf8_next(src_, cp_end);
            syntax_error("unexpected char " + py_repr_char(pos_, cp_end), pos_);
        }
    }

    std::string py_repr_char(size_t from, size_t to) const {
        std::string s = "'" + src_.substr(from, to - from) + "'";
        return s;
    }

    // (\d+_)*\d+ : digits with single underscores between them.
    size_t match_digits(size_t p) const {
        if (p >= src_.size() || !is_digit(src_[p])) return std::string::npos;
        ++p;
        while (p < src_.size()) {
            if (is_digit(src_[p]))
                ++p;
            else if (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]))
                p += 2;
            else
                break;
        }
        return p;
    }

    size_t match_exponent(size_t p) const {
        if (p >= src_.size() || (src_[p] != 'e' && src_[p] != 'E')) return std::string::npos;
        ++p;
        if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
        return match_digits(p);
    }

    bool lex_float() {
        if (pos_ > 0 && src_[pos_ - 1] == '.') return false;  // (?<!\.)
        const size_t int_end = match_digits(pos_);
        if (int_end == std::string::npos) return false;
        size_t frac_end = std::string::npos;
        if (int_end < src_.size() && src_[int_end] == '.') frac_end = match_digits(int_end + 1);
        size_t end = std::string::npos;
        if (frac_end != std::string::npos) end = match_exponent(frac_end);
        if (end == std::string::npos) end = match_exponent(int_end);
        if (end == std::string::npos) end = frac_end;
        if (end == std::string::npos) return false;
        std::string text = src_.substr(pos_, end - pos_);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        Token t;
        t.type = Tok::Float;
        t.float_value = std::strtod(text.c_str(), nullptr);
        t.text = std::move(text);
        t.pos = pos_at(pos_);
        out_.push_back(std::move(t));
        pos_ = end;
        return true;
    }

    // 0b/0o/0x prefixed digits: (_?digit)+
    size_t match_prefixed(size_t p, int base) const {
        size_t count = 0;
        auto ok = [&](char c) {
            if (base == 2) return c == '0' || c == '1';
            if (base == 8) return c >= '0' && c <= '7';
            return is_hex(c);
        };
        while (p < src_.size()) {
            if (ok(src_[p]))
                ++p;
            else if (src_[p] == '_' && p + 1 < src_.size() && ok(src_[p + 1]))
                p += 2;
            else
                break;
            ++count;
        }
        return count ? p : std::string::npos;
    }

    bool lex_integer() {
        const char c = src_[pos_];
        if (!is_digit(c)) return false;
        size_t end = std::string::npos;
        int base = 10;
        size_t digits_from = pos_;
        if (c == '0' && pos_ + 1 < src_.size()) {
            const char p = static_cast<char>(src_[pos_ + 1] | 0x20);
            base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 10;
            if (base != 10) {
                end = match_prefixed(pos_ + 2, base);
                digits_from = pos_ + 2;
                if (end == std::string::npos) base = 10;
            }
        }
        if (end == std::string::npos) {
            digits_from = pos_;
            end = pos_ + 1;
            const bool zero = c == '0';
            while (end < src_.size()) {
                const size_t skip = src_[end] == '_' ? 1 : 0;
                if (end + skip >= src_.size()) break;
                const char d = src_[end + skip];
                if (zero ? d != '0' : !is_digit(d)) break;
                end += skip + 1;
            }
        }
        std::string digits = src_.substr(digits_from, end - digits_from);
        digits.erase(std::remove(digits.begin(), digits.end(), '_'), digits.end());
        errno = 0;
        const unsigned long long v = std::strtoull(digits.c_str(), nullptr, base);
        if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
            fail_unsupported("integer literal does not fit in 64 bits", pos_at(pos_));
        Token t;
        t.type = Tok::Integer;
        t.int_value = static_cast<int64_t>(v);
        t.text = src_.substr(pos_, end - pos_);
        t.pos = pos_at(pos_);
        out_.push_back(std::move(t));
        pos_ = end;
        return true;
    }

    bool lex_name() {
        size_t end = pos_;
        std::u32string cps;
        while (end < src_.size()) {
            size_t next = end;
            const char32_t c = utf8_next(src_, next);
            if (!py_is_name_char(c)) break;
            cps.push_back(c);
            end = next;
        }
        if (end == pos_) return false;
        if (!py_is_identifier(cps)) syntax_error("Invalid character in identifier", pos_);
        emit(Tok::Name, src_.substr(pos_, end - pos_), pos_);
        pos_ = end;
        return true;
    }

    bool lex_string() {
        const char q = src_[pos_];
        if (q != '\'' && q != '"') return false;
        size_t i = pos_ + 1;
        while (i < src_.size() && src_[i] != q) {
            if (src_[i] == '\\') {
                if (i + 1 >= src_.size()) return false;
                ++i;
            }
            utf8_next(src_, i);
        }
        if (i >= src_.size()) return false;
        Token t;
        t.type = Tok::String;
        t.pos = pos_at(pos_);
        t.text = decode_string(std::string_view(src_).substr(pos_ + 1, i - pos_ - 1), pos_);
        out_.push_back(std::move(t));
        pos_ = i + 1;
        return true;
    }

    bool read_hex(std::string_view body, size_t& i, int count, char32_t& out) const {
        out = 0;
        for (int k = 0; k < count; ++k, ++i) {
            if (i >= body.size() || !is_hex(body[i])) return false;
            const char c = body[i];
            out = out * 16 + static_cast<char32_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return true;
    }

    // Python's "unicode-escape" codec applied after backslashreplace, as jinja2 does.
    std::string decode_string(std::string_view body, size_t at) const {
        std::string out;
        out.reserve(body.size());
        size_t i = 0;
        while (i < body.size()) {
            const char32_t c = utf8_next(body, i);
            if (c != '\\') {
                utf8_append(out, c);
                continue;
            }
            decode_escape(body, i, out, at);
        }
        return out;
    }

    void decode_escape(std::string_view body, size_t& i, std::string& out, size_t at) const {
        const char32_t d = utf8_next(body, i);
        char32_t v = 0;
        switch (d) {
            case '\n': return;
            case '\\': out += '\\'; return;
            case '\'': out += '\''; return;
            case '"': out += '"'; return;
            case 'a': out += '\a'; return;
            case 'b': out += '\b'; return;
            case 'f': out += '\f'; return;
            case 'n': out += '\n'; return;
            case 'r': out += '\r'; return;
            case 't': out += '\t'; return;
            case 'v': out += '\v'; return;
            case 'x':
                if (!read_hex(body, i, 2, v)) syntax_error("truncated \\xXX escape", at);
                utf8_append(out, v);
                return;
            case 'u':
            case 'U':
                if (!read_hex(body, i, d == 'u' ? 4 : 8, v))
                    syntax_error(d == 'u' ? "truncated \\uXXXX escape" : "truncated \\UXXXXXXXX escape", at);
                if (v > 0x10FFFF) syntax_error("illegal Unicode character", at);
                if (v >= 0xD800 && v <= 0xDFFF) fail_unsupported("lone surrogate escape in a string literal", pos_at(at));
                utf8_append(out, v);
                return;
            case 'N':
                fail_unsupported("\\N{...} escapes in string literals", pos_at(at));
            default:
                break;
        }
        if (d >= '0' && d <= '7') {
            v = d - '0';
            for (int k = 0; k < 2 && i < body.size() && body[i] >= '0' && body[i] <= '7'; ++k, ++i) v = v * 8 + (body[i] - '0');
            utf8_append(out, v);
            return;
        }
        out += '\\';
        if (d < 0x80) {
            out += static_cast<char>(d);
            return;
        }
        // A backslash before a non-ASCII character escapes the backslashreplace text instead.
        char buf[16];
        if (d <= 0xFF)
            std::snprintf(buf, sizeof(buf), "x%02x", static_cast<unsigned>(d));
        else if (d <= 0xFFFF)
            std::snprintf(buf, sizeof(buf), "u%04x", static_cast<unsigned>(d));
        else
            std::snprintf(buf, sizeof(buf), "U%08x", static_cast<unsigned>(d));
        out += buf;
    }

    bool lex_operator(std::vector<char>& balance) {
        static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
        for (auto op : kTwo)
            if (starts_with(pos_, op)) {
                emit(Tok::Op, std::string(op), pos_);
                pos_ += 2;
                return true;
            }
        const char c = src_[pos_];
        if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) return false;
        if (c == '(' || c == '[' || c == '{') {
            balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
        } else if (c == ')' || c == ']' || c == '}') {
            if (balance.empty()) syntax_error(std::string("unexpected '") + c + "'", pos_);
            const char expected = balance.back();
            balance.pop_back();
            if (expected != c) syntax_error(std::string("unexpected '") + c + "', expected '" + expected + "'", pos_);
        }
        emit(Tok::Op, std::string(1, c), pos_);
        ++pos_;
        return true;
    }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
    if (!utf8_valid(source)) fail("template.syntax", "template source is not valid UTF-8", Pos{1, 1});
    return Lexer(normalize_newlines(source)).run();
}

}  // namespace moe::jinja
