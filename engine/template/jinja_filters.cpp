// jinja2's builtin filters (jinja2/filters.py) plus transformers' tojson, reproduced with the
// same argument names, defaults and corner cases (generators, Undefined, case folding).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_format.h"
#include "template/jinja_json.h"
#include "template/jinja_parser.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

constexpr std::string_view kImplemented[] = {
    "abs",   "attr",    "capitalize", "center",   "count", "d",         "default", "dictsort", "e",
    "escape", "first",  "float",      "format",   "indent", "int",      "items",   "join",     "last",
    "length", "list",   "lower",      "map",      "max",    "min",      "reject",  "rejectattr", "replace",
    "reverse", "round", "safe",       "select",   "selectattr", "sort", "string",  "striptags", "sum",
    "title",  "tojson", "trim",       "unique",   "upper",  "wordcount"};
constexpr std::string_view kUnsupported[] = {"batch",  "filesizeformat", "forceescape", "groupby", "pprint",
                                             "random", "slice",          "truncate",    "urlencode", "urlize",
                                             "wordwrap", "xmlattr"};

Value soft_str_value(Renderer& r, const Value& v) { return v.is_string() ? v : r.make_str(r.to_str(v)); }

// jinja2's do_title: words start after runs of whitespace, '-', '(', '{', '[' or '<'.
std::string jinja_title(std::string_view s) {
    auto is_sep = [](char32_t c) { return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
    std::string out;
    size_t i = 0;
    bool word_start = true;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        if (is_sep(c)) {
            utf8_append(out, c);
            word_start = true;
            continue;
        }
        utf8_append(out, word_start ? py_toupper(c) : py_tolower(c));
        word_start = false;
    }
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// markupsafe's striptags: drop comments and tags, collapse whitespace, unescape basic entities.
std::string strip_tags(std::string s) {
    for (size_t start; (start = s.find("<!--")) != std::string::npos;) {
        const size_t end = s.find("-->", start);
        if (end == std::string::npos) break;
        s.erase(start, end + 3 - start);
    }
    for (size_t start; (start = s.find('<')) != std::string::npos;) {
        const size_t end = s.find('>', start);
        if (end == std::string::npos) break;
        s.erase(start, end + 1 - start);
    }
    std::string collapsed;
    size_t i = 0;
    bool pending_space = false;
    while (i < s.size()) {
        const size_t start = i;
        const char32_t c = utf8_next(s, i);
        if (py_isspace(c)) {
            pending_space = !collapsed.empty();
            continue;
        }
        if (pending_space) collapsed += ' ';
        pending_space = false;
        collapsed.append(s, start, i - start);
    }
    static const std::pair<std::string_view, std::string_view> kEntities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#34;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}, {"&amp;", "&"}};
    std::string out;
    for (size_t k = 0; k < collapsed.size();) {
        bool replaced = false;
        if (collapsed[k] == '&')
            for (const auto& [from, to] : kEntities)
                if (collapsed.compare(k, from.size(), from) == 0) {
                    out += to;
                    k += from.size();
                    replaced = true;
                    break;
                }
        if (!replaced) out += collapsed[k++];
    }
    return out;
}

size_t py_len(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined: return 0;
        case Kind::String: return utf8_length(v.as_str());
        case Kind::Dict: return v.as_dict().items.size();
        case Kind::List:
            if (v.as_list().flavor == ListFlavor::Generator) fail_runtime("object of type 'generator' has no len()");
            return v.as_list().items.size();
        default:
            fail_runtime("object of type '" + py_type_name(v) + "' has no len()");
    }
}

// Python float(str): optional sign, digits with single underscores, inf/nan words; no hex.
std::optional<double> parse_py_float(const std::string& raw) {
    std::u32string cps = utf8_decode(raw);
    size_t lo = 0, hi = cps.size();
    while (lo < hi && py_isspace(cps[lo])) ++lo;
    while (hi > lo && py_isspace(cps[hi - 1])) --hi;
    std::string s;
    for (size_t i = lo; i < hi; ++i) {
        if (cps[i] >= 0x80) return std::nullopt;
        s += static_cast<char>(cps[i]);
    }
    std::string lower = s;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string body = !lower.empty() && (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
    const double sign = !lower.empty() && lower[0] == '-' ? -1.0 : 1.0;
    if (body == "inf" || body == "infinity") return sign * HUGE_VAL;
    if (body == "nan") return std::nan("");
    std::string clean;
    bool digits = false;
    for (size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '_') {
            if (i == 0 || i + 1 >= body.size() || !std::isdigit(static_cast<unsigned char>(body[i - 1])) ||
                !std::isdigit(static_cast<unsigned char>(body[i + 1])))
                return std::nullopt;
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) digits = true;
        else if (c != '.' && c != 'e' && c != '+' && c != '-') return std::nullopt;
        clean += c;
    }
    if (!digits) return std::nullopt;
    clean = (sign < 0 ? "-" : "") + clean;
    char* end = nullptr;
    const double d = std::strtod(clean.c_str(), &end);
    if (end != clean.c_str() + clean.size()) return std::nullopt;
    return d;
}

// Python int(str, base) for bases 2..36 and 0.
std::optional<int64_t> parse_py_int(const std::string& raw, int64_t base) {
    std::string s;
    const std::u32string cps = utf8_decode(raw);
    size_t lo = 0, hi = cps.size();
    while (lo < hi && py_isspace(cps[lo])) ++lo;
    while (hi > lo && py_isspace(cps[hi - 1])) --hi;
    for (size_t i = lo; i < hi; ++i) {
        if (cps[i] >= 0x80) return std::nullopt;
        s += static_cast<char>(cps[i]);
    }
    bool negative = false;
    size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    auto prefix_base = [&](char p) { return p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0; };
    if (i + 1 < s.size() && s[i] == '0') {
        const int pb = prefix_base(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i + 1]))));
        if (pb && (base == 0 || base == pb)) {
            base = pb;
            i += 2;
            if (i < s.size() && s[i] == '_') ++i;
        }
    }
    if (base == 0) base = 10;
    if (base < 2 || base > 36) fail_runtime("int() base must be >= 2 and <= 36, or 0");
    std::string digits;
    for (size_t k = i; k < s.size(); ++k) {
        if (s[k] == '_') {
            if (k == i || k + 1 >= s.size() || s[k + 1] == '_') return std::nullopt;
            continue;
        }
        digits += s[k];
    }
    if (digits.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : digits) {
        const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::isalpha(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10 : 99;
        if (d >= base) return std::nullopt;
        if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) fail_unsupported("int() result beyond 64 bits");
        v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
    if (v > static_cast<uint64_t>(INT64_MAX)) fail_unsupported("int() result beyond 64 bits");
    return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

int64_t int_arg(const Value& v, const char* what) {
    if (!v.is_integral()) fail_runtime(std::string(what) + ": '" + py_type_name(v) + "' object cannot be interpreted as an integer");
    return v.as_int();
}

double round_half_even_digits(double x, int64_t digits) {
    if (!std::isfinite(x) || digits > 330) return x;
    if (digits < 0) fail_unsupported("round() with a negative precision");
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(digits), x);  // exact, ties to even
    return std::strtod(buf, nullptr);
}

}  // namespace

Support filter_support(std::string_view name) {
    if (std::find(std::begin(kImplemented), std::end(kImplemented), name) != std::end(kImplemented)) return Support::Implemented;
    if (std::find(std::begin(kUnsupported), std::end(kUnsupported), name) != std::end(kUnsupported)) return Support::Unsupported;
    return Support::Unknown;
}

Value Renderer::filter(const std::string& name, const Value& v, Args args) {
    if (v.is_string()) step(v.as_str().size() / 256);
    const Support support = filter_support(name);
    if (support == Support::Unknown) fail_runtime("No filter named '" + name + "' found.");
    if (support == Support::Unsupported) fail_unsupported("the '" + name + "' filter");
    bool handled = true;
    Value out = filter_text(name, v, args, handled);
    if (handled) return out;
    handled = true;
    out = filter_number(name, v, args, handled);
    if (handled) return out;
    handled = true;
    out = filter_sequence(name, v, args, handled);
    if (handled) return out;
    fail_unsupported("the '" + name + "' filter");
}

namespace {

int64_t word_count(const std::string& s) {
    int64_t words = 0;
    bool in_word = false;
    size_t i = 0;
    while (i < s.size()) {
        const bool w = py_is_word(utf8_next(s, i));
        if (w && !in_word) ++words;
        in_word = w;
    }
    return words;
}

// jinja2 do_indent: the first line and (unless blank=True) empty lines are not indented.
Value filter_indent(Renderer& r, const Value& v, const Args& args) {
    const auto a = bind_args(args, {"width", "first", "blank"}, "indent");
    std::string indention = "    ";
    if (a[0] && a[0]->is_string()) {
        indention = a[0]->as_str();
    } else if (a[0]) {
        if (!a[0]->is_integral()) fail_runtime("can't multiply sequence by non-int");
        indention = std::string(static_cast<size_t>(std::clamp<int64_t>(a[0]->as_int(), 0, 1 << 16)), ' ');
    }
    const Value lines_value = r.call_method(Value::string(r.to_str(v) + "\n"), "splitlines", Args{});
    const auto& lines = lines_value.as_list().items;
    const bool blank = a[2] && truthy(*a[2]);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i].as_str();
        if (i) out += "\n";
        if (i && (blank || !line.empty())) out += indention;
        out += line;
        r.check_string_size(out.size());
    }
    if (a[1] && truthy(*a[1])) out = indention + out;
    return r.make_str(std::move(out));
}

// jinja2 do_format: `value % args`, or `value % kwargs` with keyword arguments.
Value filter_format(Renderer& r, const Value& v, Args& args) {
    if (!args.pos.empty() && !args.kw.empty()) fail_runtime("can't handle positional and keyword arguments at the same time");
    Value operand;
    if (!args.kw.empty()) {
        auto d = std::make_shared<DictData>();
        for (auto& [k, val] : args.kw) d->set(Value::string(k), val);
        operand = Value::dict(std::move(d));
    } else {
        operand = r.make_list(std::move(args.pos), ListFlavor::Tuple);
    }
    return r.make_str(percent_format(r, r.to_str(v), operand));
}

// transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value filter_tojson(Renderer& r, const Value& v, const Args& args) {
    const auto a = bind_args(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
    JsonDumpOptions o;
    o.max_bytes = r.limits().max_string_bytes;
    o.ensure_ascii = a[0] && truthy(*a[0]);
    o.sort_keys = a[3] && truthy(*a[3]);
    if (a[1] && !a[1]->is_none()) {
        if (a[1]->is_string()) o.indent = a[1]->as_str();
        else if (a[1]->is_integral()) o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(a[1]->as_int(), 0, 1 << 10)), ' ');
        else fail_runtime("indent must be an int or a str");
        o.item_separator = ",";  // json.dumps' default separators change with indent
    }
    if (a[2] && !a[2]->is_none()) {
        const ListPtr seps = r.iterate(*a[2]);
        if (seps->items.size() != 2 || !seps->items[0].is_string() || !seps->items[1].is_string())
            fail_runtime("separators must be a pair of strings");
        o.item_separator = seps->items[0].as_str();
        o.key_separator = seps->items[1].as_str();
    }
    return r.make_str(json_dumps(v, o));
}

}  // namespace

Value Renderer::filter_text(const std::string& name, const Value& v, Args& args, bool& handled) {
    if (name == "upper" || name == "lower" || name == "capitalize" || name == "title" || name == "string" ||
        name == "safe" || name == "e" || name == "escape" || name == "striptags" || name == "wordcount") {
        bind_args(args, {}, name);
        const std::string s = to_str(v);
        if (name == "upper") return make_str(py_upper(s));
        if (name == "lower") return make_str(py_lower(s));
        if (name == "capitalize") return make_str(py_capitalize(s));
        if (name == "title") return make_str(jinja_title(s));
        if (name == "e" || name == "escape") return make_str(html_escape(s));
        if (name == "striptags") return make_str(strip_tags(s));
        if (name == "wordcount") return Value::integer(word_count(s));
        return soft_str_value(*this, v);
    }
    if (name == "trim") {
        const auto a = bind_args(args, {"chars"}, name);
        Args call;
        if (a[0]) call.pos.push_back(*a[0]);
        return call_str_method(to_str(v), "strip", std::move(call));
    }
    if (name == "replace") {
        const auto a = bind_args(args, {"old", "new", "count"}, name, 2);
        const int64_t count = a[2] && !a[2]->is_none() ? int_arg(*a[2], "count") : -1;
        return make_str(py_replace(to_str(v), to_str(*a[0]), to_str(*a[1]), count));
    }
    if (name == "center") {
        const auto a = bind_args(args, {"width"}, name);
        return make_str(py_justify(to_str(v), a[0] ? int_arg(*a[0], "width") : 80, " ", 'c'));
    }
    if (name == "indent") return filter_indent(*this, v, args);
    if (name == "format") return filter_format(*this, v, args);
    if (name == "tojson") return filter_tojson(*this, v, args);
    handled = false;
    return Value();
}

namespace {

int64_t float_to_int(double f) {
    if (std::isinf(f)) fail_runtime("cannot convert float infinity to integer");
    if (std::fabs(f) >= 9.2e18) fail_unsupported("int() result beyond 64 bits");
    return static_cast<int64_t>(std::trunc(f));
}

// jinja2 do_int: int(value) or int(value, base), then int(float(value)), else the default.
Value filter_int(const Value& v, const Args& args) {
    const auto a = bind_args(args, {"default", "base"}, "int");
    const Value fallback = a[0] ? *a[0] : Value::integer(0);
    if (v.is_undefined()) fail_undefined(v);
    if (v.is_integral()) return Value::integer(v.as_int());
    if (v.kind() == Kind::Float) return std::isnan(v.as_float()) ? fallback : Value::integer(float_to_int(v.as_float()));
    if (v.is_string()) {
        if (auto i = parse_py_int(v.as_str(), a[1] ? int_arg(*a[1], "base") : 10)) return Value::integer(*i);
        if (auto f = parse_py_float(v.as_str())) return std::isfinite(*f) ? Value::integer(float_to_int(*f)) : fallback;
    }
    return fallback;
}

// jinja2 do_round: Python round() for 'common' (ties to even), else ceil/floor of a scaled value.
Value filter_round(Renderer& r, const Value& v, const Args& args) {
    const auto a = bind_args(args, {"precision", "method"}, "round");
    const int64_t precision = a[0] ? int_arg(*a[0], "precision") : 0;
    const std::string method = a[1] ? r.to_str(*a[1]) : "common";
    if (method != "common" && method != "ceil" && method != "floor") fail_runtime("method must be common, ceil or floor");
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_number()) fail_runtime("type " + py_type_name(v) + " doesn't define __round__ method");
    if (method == "common") {
        if (!v.is_integral()) return Value::number(round_half_even_digits(v.as_float(), precision));
        if (precision < 0) fail_unsupported("round() with a negative precision");
        return Value::integer(v.as_int());
    }
    const double factor = std::pow(10.0, static_cast<double>(precision));
    const double scaled = v.as_float() * factor;
    return Value::number((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / factor);
}

}  // namespace

Value Renderer::filter_number(const std::string& name, const Value& v, Args& args, bool& handled) {
    if (name == "int") return filter_int(v, args);
    if (name == "float") {
        const auto a = bind_args(args, {"default"}, name);
        if (v.is_undefined()) fail_undefined(v);
        if (v.is_number()) return Value::number(v.as_float());
        if (v.is_string())
            if (auto f = parse_py_float(v.as_str())) return Value::number(*f);
        return a[0] ? *a[0] : Value::number(0.0);
    }
    if (name == "abs") {
        bind_args(args, {}, name);
        if (v.is_undefined()) fail_undefined(v);
        if (v.kind() == Kind::Float) return Value::number(std::fabs(v.as_float()));
        if (!v.is_integral()) fail_runtime("bad operand type for abs(): '" + py_type_name(v) + "'");
        if (v.as_int() == INT64_MIN) fail_unsupported("integer result does not fit in 64 bits");
        return Value::integer(std::llabs(v.as_int()));
    }
    if (name == "round") return filter_round(*this, v, args);
    if (name == "length" || name == "count") {
        bind_args(args, {}, name);
        return Value::integer(static_cast<int64_t>(py_len(v)));
    }
    handled = false;
    return Value();
}

}  // namespace moe::jinja
