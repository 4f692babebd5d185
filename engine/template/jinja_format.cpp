#include "template/jinja_format.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

std::string pad(const std::string& body, size_t width, char align, const std::string& fill) {
    const size_t len = utf8_length(body);
    if (len >= width) return body;
    const size_t total = width - len;
    size_t left = 0;
    if (align == '>') left = total;
    else if (align == '^') left = total / 2;
    std::string out;
    for (size_t i = 0; i < left; ++i) out += fill;
    out += body;
    for (size_t i = 0; i < total - left; ++i) out += fill;
    return out;
}

std::string truncate_cps(const std::string& s, size_t n) {
    size_t i = 0, count = 0;
    while (i < s.size() && count < n) {
        utf8_next(s, i);
        ++count;
    }
    return s.substr(0, i);
}

std::string c_format(const char* fmt, double v) {
    char buf[512];
    const int n = std::snprintf(buf, sizeof(buf), fmt, v);
    if (n < 0 || n >= static_cast<int>(sizeof(buf))) fail_unsupported("number formatting wider than 500 characters");
    return buf;
}

std::string group_digits(const std::string& digits, char sep) {
    std::string out;
    const size_t n = digits.size();
    for (size_t i = 0; i < n; ++i) {
        if (i && (n - i) % 3 == 0) out += sep;
        out += digits[i];
    }
    return out;
}

struct Spec {
    std::string fill = " ";
    char align = 0;
    char sign = '-';
    bool alt = false;
    bool zero = false;
    size_t width = 0;
    char grouping = 0;
    std::optional<int> precision;
    char type = 0;
};

size_t read_number(std::string_view s, size_t& i) {
    size_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + static_cast<size_t>(s[i] - '0');
        if (v > 100000) fail_unsupported("format width or precision above 100000");
        ++i;
    }
    return v;
}

Spec parse_spec(std::string_view s) {
    Spec spec;
    size_t i = 0;
    if (s.find('{') != std::string_view::npos) fail_unsupported("nested replacement fields in a format spec");
    auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
    size_t first_end = 0;
    if (!s.empty()) {
        utf8_next(s, first_end);
        if (first_end < s.size() && is_align(s[first_end])) {
            spec.fill = std::string(s.substr(0, first_end));
            spec.align = s[first_end];
            i = first_end + 1;
        } else if (is_align(s[0])) {
            spec.align = s[0];
            i = 1;
        }
    }
    if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
    if (i < s.size() && s[i] == '#') {
        spec.alt = true;
        ++i;
    }
    if (i < s.size() && s[i] == '0') {
        spec.zero = true;
        ++i;
    }
    spec.width = read_number(s, i);
    if (i < s.size() && (s[i] == ',' || s[i] == '_')) spec.grouping = s[i++];
    if (i < s.size() && s[i] == '.') {
        ++i;
        const size_t start = i;
        spec.precision = static_cast<int>(read_number(s, i));
        if (i == start) fail_runtime("Format specifier missing precision");
    }
    if (i < s.size()) spec.type = s[i++];
    if (i != s.size()) fail_runtime("Invalid format specifier");
    return spec;
}

// Sign, digits and padding for numbers, including '=' alignment and zero padding.
std::string finish_number(std::string body, bool negative, const Spec& spec) {
    std::string sign = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
    char align = spec.align ? spec.align : '>';
    std::string fill = spec.fill;
    if (spec.zero && !spec.align) {
        align = '=';
        fill = "0";
    }
    if (align == '=') {
        const size_t used = sign.size() + utf8_length(body);
        std::string padding;
        for (size_t k = used; k < spec.width; ++k) padding += fill;
        return sign + padding + body;
    }
    return pad(sign + body, spec.width, align, fill);
}

std::string format_int(int64_t v, const Spec& spec) {
    const bool negative = v < 0;
    const uint64_t mag = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    std::string digits;
    const char type = spec.type ? spec.type : 'd';
    char buf[80];
    switch (type) {
        case 'd':
        case 'n':
            std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(mag));
            digits = buf;
            if (spec.grouping) digits = group_digits(digits, spec.grouping);
            break;
        case 'x':
        case 'X':
        case 'o':
        case 'b': {
            if (type == 'b') {
                do digits.insert(digits.begin(), static_cast<char>('0' + ((mag >> digits.size()) & 1)));
                while ((mag >> digits.size()) != 0);
            } else {
                std::snprintf(buf, sizeof(buf), type == 'x' ? "%llx" : type == 'X' ? "%llX" : "%llo",
                              static_cast<unsigned long long>(mag));
                digits = buf;
            }
            if (spec.alt) digits = std::string("0") + (type == 'X' ? 'X' : type) + digits;
            break;
        }
        case 'c': {
            if (v < 0 || v > 0x10FFFF) fail_runtime("%c arg not in range(0x110000)");
            if (v >= 0xD800 && v <= 0xDFFF) fail_unsupported("lone surrogate characters");
            std::string s;
            utf8_append(s, static_cast<char32_t>(v));
            return pad(s, spec.width, spec.align ? spec.align : '<', spec.fill);
        }
        default:
            fail_runtime(std::string("Unknown format code '") + type + "' for object of type 'int'");
    }
    return finish_number(digits, negative, spec);
}

std::string format_float(double v, Spec spec) {
    const bool negative = std::signbit(v) && !std::isnan(v);
    const double mag = std::fabs(v);
    std::string body;
    char type = spec.type;
    if (type == 0 && !spec.precision) {
        body = py_float_repr(mag);
    } else {
        const int prec = spec.precision.value_or(6);
        if (type == '%') {
            body = c_format(("%." + std::to_string(prec) + "f").c_str(), mag * 100) + "%";
        } else {
            const char conv = type == 0 || type == 'n' ? 'g' : type;
            const std::string fmt = std::string("%") + (spec.alt ? "#" : "") + "." +
                                    std::to_string(type == 0 && prec == 0 ? 1 : prec) + conv;
            body = c_format(fmt.c_str(), mag);
            if (type == 0 && std::isfinite(mag) && body.find_first_of(".e") == std::string::npos) body += ".0";
        }
    }
    if (spec.grouping && std::isfinite(mag)) {
        const size_t end = body.find_first_not_of("0123456789");
        body = group_digits(body.substr(0, end), spec.grouping) + (end == std::string::npos ? "" : body.substr(end));
    }
    return finish_number(body, negative, spec);
}

std::string format_string(const std::string& s, const Spec& spec) {
    if (spec.type && spec.type != 's') fail_runtime(std::string("Unknown format code '") + spec.type + "' for object of type 'str'");
    if (spec.sign != '-') fail_runtime("Sign not allowed in string format specifier");
    if (spec.align == '=') fail_runtime("'=' alignment not allowed in string format specifier");
    const std::string body = spec.precision ? truncate_cps(s, static_cast<size_t>(*spec.precision)) : s;
    return pad(body, spec.width, spec.align ? spec.align : '<', spec.fill);
}

}  // namespace

std::string format_value(Renderer& r, const Value& v, std::string_view spec_text) {
    if (spec_text.empty()) return r.to_str(v);
    const Spec spec = parse_spec(spec_text);
    switch (v.kind()) {
        case Kind::String:
            return format_string(v.as_str(), spec);
        case Kind::Bool:
        case Kind::Int:
            if (spec.type && std::string_view("eEfFgG%").find(spec.type) != std::string_view::npos)
                return format_float(static_cast<double>(v.as_int()), spec);
            return format_int(v.as_int(), spec);
        case Kind::Float:
            if (spec.type && std::string_view("eEfFgGn%").find(spec.type) == std::string_view::npos)
                fail_runtime(std::string("Unknown format code '") + spec.type + "' for object of type 'float'");
            return format_float(v.as_float(), spec);
        default:
            fail_runtime("unsupported format string passed to " + py_type_name(v) + ".__format__");
    }
}

// ---- str.format --------------------------------------------------------------------------------

namespace {

Value resolve_field(Renderer& r, std::string_view field, const Args& args, int& auto_index, bool& manual) {
    size_t i = 0;
    while (i < field.size() && field[i] != '.' && field[i] != '[') ++i;
    const std::string_view head = field.substr(0, i);
    Value obj;
    const bool numeric = !head.empty() && head.find_first_not_of("0123456789") == std::string_view::npos;
    if (head.empty() || numeric) {
        size_t index;
        if (head.empty()) {
            if (manual) fail_runtime("cannot switch from manual field specification to automatic field numbering");
            index = static_cast<size_t>(auto_index++);
        } else {
            if (auto_index > 0) fail_runtime("cannot switch from automatic field numbering to manual field specification");
            manual = true;
            if (head.size() > 9) fail_runtime("Too many decimal digits in format string");
            index = std::stoul(std::string(head));
        }
        if (index >= args.pos.size())
            fail_runtime("Replacement index " + std::to_string(index) + " out of range for positional args tuple");
        obj = args.pos[index];
    } else {
        const Value* found = nullptr;
        for (const auto& [k, v] : args.kw)
            if (k == head) found = &v;
        if (!found) fail_runtime("KeyError: '" + std::string(head) + "'");
        obj = *found;
    }
    while (i < field.size()) {
        if (field[i] == '.') {
            size_t j = ++i;
            while (j < field.size() && field[j] != '.' && field[j] != '[') ++j;
            obj = r.getattr(obj, std::string(field.substr(i, j - i)));
            i = j;
        } else {
            const size_t close = field.find(']', i);
            if (close == std::string_view::npos) fail_runtime("Missing ']' in format string");
            const std::string key(field.substr(i + 1, close - i - 1));
            const bool digits = !key.empty() && key.size() < 18 && key.find_first_not_of("0123456789") == std::string::npos;
            obj = r.getitem(obj, digits ? Value::integer(std::stoll(key)) : Value::string(key));
            i = close + 1;
        }
    }
    return obj;
}

}  // namespace

std::string str_format(Renderer& r, const std::string& fmt, const Args& args) {
    std::string out;
    int auto_index = 0;
    bool manual = false;
    size_t i = 0;
    while (i < fmt.size()) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
                out += '}';
                i += 2;
                continue;
            }
            fail_runtime("Single '}' encountered in format string");
        }
        if (c != '{') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            i += 2;
            continue;
        }
        const size_t close = fmt.find('}', i);
        if (close == std::string::npos) fail_runtime("expected '}' before end of string");
        std::string_view field(fmt.data() + i + 1, close - i - 1);
        if (field.find('{') != std::string_view::npos) fail_unsupported("nested replacement fields in str.format");
        std::string_view spec;
        const size_t colon = field.find(':');
        if (colon != std::string_view::npos) {
            spec = field.substr(colon + 1);
            field = field.substr(0, colon);
        }
        char conversion = 0;
        const size_t bang = field.find('!');
        if (bang != std::string_view::npos) {
            if (bang + 2 != field.size()) fail_runtime("expected ':' after conversion specifier");
            conversion = field[bang + 1];
            field = field.substr(0, bang);
        }
        Value v = resolve_field(r, field, args, auto_index, manual);
        if (conversion == 's') v = Value::string(r.to_str(v));
        else if (conversion == 'r') v = Value::string(r.to_repr(v));
        else if (conversion) fail_unsupported(std::string("the !") + conversion + " conversion");
        out += format_value(r, v, spec);
        r.check_string_size(out.size());
        i = close + 1;
    }
    return out;
}

// ---- printf-style ----------------------------------------------------------------------------------

namespace {

struct PercentArgs {
    std::vector<Value> items;
    const Value* mapping = nullptr;
    bool single = false;
    size_t next = 0;

    const Value& take() {
        if (next >= items.size()) fail_runtime("not enough arguments for format string");
        return items[next++];
    }
};

std::string percent_number(Renderer& r, char type, const Value& v, const std::string& flags, std::optional<size_t> width,
                           std::optional<int> precision) {
    const bool integer_type = type == 'd' || type == 'i' || type == 'u' || type == 'x' || type == 'X' || type == 'o';
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_number()) {
        const std::string need = integer_type ? "a real number is required" : "must be real number";
        fail_runtime(std::string("%") + type + " format: " + need + ", not " + py_type_name(v));
    }
    if ((type == 'x' || type == 'X' || type == 'o') && v.kind() == Kind::Float)
        fail_runtime(std::string("%") + type + " format: an integer is required, not float");
    std::string fmt = "%" + flags;
    if (width) fmt += std::to_string(*width);
    if (precision) fmt += "." + std::to_string(*precision);
    char buf[512];
    int n;
    if (integer_type) {
        const double f = v.as_float();
        if (v.kind() == Kind::Float && (!std::isfinite(f) || std::fabs(f) >= 9.2e18))
            fail_unsupported("%d of a float beyond 64-bit integers");
        const long long iv = v.kind() == Kind::Float ? static_cast<long long>(std::trunc(f)) : v.as_int();
        if (iv < 0 && (type == 'x' || type == 'X' || type == 'o')) fail_unsupported("%x/%o of negative numbers");
        fmt += std::string("ll") + (type == 'i' || type == 'u' ? 'd' : type);
        n = std::snprintf(buf, sizeof(buf), fmt.c_str(), iv);
    } else {
        fmt += type;
        n = std::snprintf(buf, sizeof(buf), fmt.c_str(), v.as_float());
    }
    if (n < 0 || n >= static_cast<int>(sizeof(buf))) fail_unsupported("number formatting wider than 500 characters");
    (void)r;
    return buf;
}

}  // namespace

namespace {

struct PercentSpec {
    std::string flags;
    std::optional<size_t> width;
    std::optional<int> precision;
    char type = 0;
};

// Reads "[flags][width][.precision][length]type" after the '%' (and an optional "(key)").
PercentSpec read_percent_spec(const std::string& fmt, size_t& i) {
    PercentSpec spec;
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) spec.flags += fmt[i++];
    if (i < fmt.size() && fmt[i] == '*') fail_unsupported("'*' width in % formatting");
    if (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') spec.width = read_number(fmt, i);
    if (i < fmt.size() && fmt[i] == '.') {
        ++i;
        if (i < fmt.size() && fmt[i] == '*') fail_unsupported("'*' precision in % formatting");
        spec.precision = static_cast<int>(read_number(fmt, i));
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) fail_runtime("incomplete format");
    spec.type = fmt[i++];
    return spec;
}

std::string percent_piece(Renderer& r, const PercentSpec& spec, const Value& arg) {
    const bool left = spec.flags.find('-') != std::string::npos;
    switch (spec.type) {
        case 's':
        case 'r': {
            std::string s = spec.type == 's' ? r.to_str(arg) : r.to_repr(arg);
            if (spec.precision) s = truncate_cps(s, static_cast<size_t>(*spec.precision));
            return pad(s, spec.width.value_or(0), left ? '<' : '>', " ");
        }
        case 'c': {
            std::string s;
            if (arg.is_string() && utf8_length(arg.as_str()) == 1) {
                s = arg.as_str();
            } else if (arg.is_integral() && arg.as_int() >= 0 && arg.as_int() <= 0x10FFFF) {
                if (arg.as_int() >= 0xD800 && arg.as_int() <= 0xDFFF) fail_unsupported("lone surrogate characters");
                utf8_append(s, static_cast<char32_t>(arg.as_int()));
            } else {
                fail_runtime("%c requires int or char");
            }
            return pad(s, spec.width.value_or(0), left ? '<' : '>', " ");
        }
        case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
            return percent_number(r, spec.type, arg, spec.flags, spec.width, spec.precision);
        default:
            fail_runtime(std::string("unsupported format character '") + spec.type + "'");
    }
}

}  // namespace

// Python's str % args: a tuple supplies positional values, a mapping supplies %(key)s values,
// anything else is the single value.
std::string percent_format(Renderer& r, const std::string& fmt, const Value& args_value) {
    PercentArgs args;
    if (args_value.is_list() && args_value.as_list().flavor == ListFlavor::Tuple) {
        args.items = args_value.as_list().items;
    } else {
        args.items.push_back(args_value);
        args.single = true;
    }
    if (args_value.is_dict() || (args_value.is_list() && args_value.as_list().flavor != ListFlavor::Tuple))
        args.mapping = &args_value;
    std::string out;
    size_t i = 0;
    while (i < fmt.size()) {
        if (fmt[i] != '%') {
            out += fmt[i++];
            continue;
        }
        if (++i >= fmt.size()) fail_runtime("incomplete format");
        const Value* keyed = nullptr;
        if (fmt[i] == '(') {
            const size_t close = fmt.find(')', i);
            if (close == std::string::npos) fail_runtime("incomplete format key");
            if (!args.mapping || !args.mapping->is_dict()) fail_runtime("format requires a mapping");
            keyed = args.mapping->as_dict().find(std::string_view(fmt).substr(i + 1, close - i - 1));
            if (!keyed) fail_runtime("KeyError: '" + fmt.substr(i + 1, close - i - 1) + "'");
            i = close + 1;
        }
        const PercentSpec spec = read_percent_spec(fmt, i);
        if (spec.type == '%') {
            out += '%';
            continue;
        }
        out += percent_piece(r, spec, keyed ? *keyed : args.take());
        r.check_string_size(out.size());
    }
    if (!args.mapping && args.next < args.items.size()) fail_runtime("not all arguments converted during string formatting");
    return out;
}

}  // namespace moe::jinja
