// Methods of str, dict, list and tuple that templates call ("x".split(","), d.get("k")...),
// with Python's argument rules and code-point indices.
#include <algorithm>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_format.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

const std::string& need_str(const Value& v, const char* what) {
    if (!v.is_string()) fail_runtime(std::string(what) + " must be str, not " + py_type_name(v));
    return v.as_str();
}

int64_t need_int(const Value& v, const char* what) {
    if (!v.is_integral()) fail_runtime(std::string("'") + py_type_name(v) + "' object cannot be interpreted as an integer (" + what + ")");
    return v.as_int();
}

// Python's [start:end] clamping for optional find/count bounds.
void clamp_range(const std::optional<Value>& start, const std::optional<Value>& end, size_t n, size_t& lo, size_t& hi) {
    auto adjust = [n](int64_t i) -> size_t {
        if (i < 0) i += static_cast<int64_t>(n);
        return static_cast<size_t>(std::clamp<int64_t>(i, 0, static_cast<int64_t>(n)));
    };
    lo = start && !start->is_none() ? adjust(need_int(*start, "start")) : 0;
    hi = end && !end->is_none() ? adjust(need_int(*end, "end")) : n;
}

std::u32string strip_set(const std::optional<Value>& chars, bool& whitespace) {
    whitespace = !chars || chars->is_none();
    if (whitespace) return {};
    return utf8_decode(need_str(*chars, "strip arg"));
}

std::string strip(const std::string& s, const std::optional<Value>& chars, bool left, bool right) {
    bool ws;
    const std::u32string set = strip_set(chars, ws);
    const std::u32string cps = utf8_decode(s);
    auto drop = [&](char32_t c) { return ws ? py_isspace(c) : set.find(c) != std::u32string::npos; };
    size_t lo = 0, hi = cps.size();
    if (left)
        while (lo < hi && drop(cps[lo])) ++lo;
    if (right)
        while (hi > lo && drop(cps[hi - 1])) --hi;
    return utf8_encode(std::u32string_view(cps).substr(lo, hi - lo));
}

std::vector<std::string> split_ws(const std::u32string& s, int64_t maxsplit, bool from_right) {
    std::vector<std::string> parts;
    if (!from_right) {
        size_t i = 0;
        while (true) {
            while (i < s.size() && py_isspace(s[i])) ++i;
            if (i >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
                parts.push_back(utf8_encode(std::u32string_view(s).substr(i)));
                break;
            }
            size_t j = i;
            while (j < s.size() && !py_isspace(s[j])) ++j;
            parts.push_back(utf8_encode(std::u32string_view(s).substr(i, j - i)));
            i = j;
        }
        return parts;
    }
    size_t i = s.size();
    while (true) {
        while (i > 0 && py_isspace(s[i - 1])) --i;
        if (i == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
            parts.push_back(utf8_encode(std::u32string_view(s).substr(0, i)));
            break;
        }
        size_t j = i;
        while (j > 0 && !py_isspace(s[j - 1])) --j;
        parts.push_back(utf8_encode(std::u32string_view(s).substr(j, i - j)));
        i = j;
    }
    std::reverse(parts.begin(), parts.end());
    return parts;
}

std::vector<std::string> split_sep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right) {
    if (sep.empty()) fail_runtime("empty separator");
    std::vector<std::string> parts;
    if (!from_right) {
        size_t start = 0;
        while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
            const size_t at = s.find(sep, start);
            if (at == std::string::npos) break;
            parts.push_back(s.substr(start, at - start));
            start = at + sep.size();
        }
        parts.push_back(s.substr(start));
        return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
        if (end < sep.size()) break;
        const size_t at = s.rfind(sep, end - sep.size());
        if (at == std::string::npos) break;
        parts.push_back(s.substr(at + sep.size(), end - at - sep.size()));
        end = at;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
}

bool all_cps(const std::string& s, bool (*pred)(char32_t)) {
    if (s.empty()) return false;
    size_t i = 0;
    while (i < s.size())
        if (!pred(utf8_next(s, i))) return false;
    return true;
}

// str.islower()/isupper(): at least one cased character and none of the other case.
bool case_test(const std::string& s, bool want_lower) {
    bool cased = false;
    size_t i = 0;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        if (want_lower ? py_is_upper(c) : py_is_lower(c)) return false;
        if (want_lower ? py_is_lower(c) : py_is_upper(c)) cased = true;
    }
    return cased;
}

bool istitle(const std::string& s) {
    bool cased = false, previous_cased = false;
    size_t i = 0;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        if (py_is_upper(c)) {
            if (previous_cased) return false;
            previous_cased = cased = true;
        } else if (py_is_lower(c)) {
            if (!previous_cased) return false;
            previous_cased = cased = true;
        } else {
            previous_cased = false;
        }
    }
    return cased;
}

std::string swapcase(const std::string& s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        utf8_append(out, py_is_upper(c) ? py_tolower(c) : py_is_lower(c) ? py_toupper(c) : c);
    }
    return out;
}

// Position of `sub` in cps[lo:hi] searching from the left or right, as a code point index.
int64_t find_cps(const std::u32string& cps, const std::u32string& sub, size_t lo, size_t hi, bool from_right) {
    if (lo > hi || hi - lo < sub.size()) return -1;
    const std::u32string_view window = std::u32string_view(cps).substr(lo, hi - lo);
    const size_t at = from_right ? window.rfind(sub) : window.find(sub);
    return at == std::u32string_view::npos ? -1 : static_cast<int64_t>(lo + at);
}

}  // namespace

Value Renderer::call_method(const Value& self, const std::string& name, Args args) {
    step();
    if (self.is_dict()) {
        const DictData& d = self.as_dict();
        if (name == "get") {
            const auto a = bind_args(args, {"key", "default"}, "get", 1);
            if (!py_hashable(*a[0])) fail_runtime("unhashable type: '" + py_type_name(*a[0]) + "'");
            const Value* v = d.find(*a[0]);
            return v ? *v : a[1] ? *a[1] : Value::none();
        }
        bind_args(args, {}, name);
        if (name == "copy") return self;
        std::vector<Value> out;
        for (const auto& [k, v] : d.items) {
            if (name == "keys") out.push_back(k);
            else if (name == "values") out.push_back(v);
            else out.push_back(make_list({k, v}, ListFlavor::Tuple));
        }
        const ListFlavor f = name == "keys" ? ListFlavor::DictKeys : name == "values" ? ListFlavor::DictValues : ListFlavor::DictItems;
        return make_list(std::move(out), f);
    }
    if (self.is_list()) {
        const auto& items = self.as_list().items;
        if (name == "copy") {
            bind_args(args, {}, name);
            return self;
        }
        const auto a = bind_args(args, {"value", "start", "stop"}, name, 1);
        step(items.size() / 16);
        if (name == "count") {
            if (a[1]) fail_runtime("count() takes exactly one argument");
            return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& x) { return py_equal(x, *a[0]); }));
        }
        size_t lo, hi;
        clamp_range(a[1], a[2], items.size(), lo, hi);
        for (size_t i = lo; i < hi; ++i)
            if (py_equal(items[i], *a[0])) return Value::integer(static_cast<int64_t>(i));
        fail_runtime(py_repr(*a[0], 200) + " is not in list");
    }
    return call_str_method(self.as_str(), name, std::move(args));
}

namespace {

Value str_case_method(Renderer& r, const std::string& s, const std::string& name, const Args& args) {
    bind_args(args, {}, name);
    if (name == "upper") return r.make_str(py_upper(s));
    if (name == "lower" || name == "casefold") return r.make_str(py_lower(s));
    if (name == "title") return r.make_str(py_title(s));
    if (name == "swapcase") return r.make_str(swapcase(s));
    return r.make_str(py_capitalize(s));
}

Value str_split_method(Renderer& r, const std::string& s, const std::string& name, const Args& args) {
    const auto a = bind_args(args, {"sep", "maxsplit"}, name);
    const int64_t maxsplit = a[1] ? need_int(*a[1], "maxsplit") : -1;
    const bool right = name == "rsplit";
    std::vector<std::string> parts = !a[0] || a[0]->is_none() ? split_ws(utf8_decode(s), maxsplit, right)
                                                              : split_sep(s, need_str(*a[0], "sep"), maxsplit, right);
    std::vector<Value> out;
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
    return r.make_list(std::move(out));
}

Value str_splitlines(Renderer& r, const std::string& s, const Args& args) {
    const auto a = bind_args(args, {"keepends"}, "splitlines");
    const bool keep = a[0] && truthy(*a[0]);
    const std::u32string cps = utf8_decode(s);
    std::vector<Value> out;
    size_t start = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
        if (!py_is_line_break(cps[i])) continue;
        size_t end = i + 1;
        if (cps[i] == '\r' && end < cps.size() && cps[end] == '\n') ++end;
        out.push_back(Value::string(utf8_encode(std::u32string_view(cps).substr(start, (keep ? end : i) - start))));
        start = end;
        i = end - 1;
    }
    if (start < cps.size()) out.push_back(Value::string(utf8_encode(std::u32string_view(cps).substr(start))));
    return r.make_list(std::move(out));
}

Value str_affix_test(const std::string& s, const std::string& name, const Args& args) {
    const auto a = bind_args(args, {"prefix", "start", "end"}, name, 1);
    const std::u32string cps = utf8_decode(s);
    size_t lo, hi;
    clamp_range(a[1], a[2], cps.size(), lo, hi);
    std::vector<Value> options;
    if (a[0]->is_list() && a[0]->as_list().flavor == ListFlavor::Tuple) options = a[0]->as_list().items;
    else options.push_back(*a[0]);
    for (const auto& opt : options) {
        if (!opt.is_string()) fail_runtime(name + " first arg must be str or a tuple of str, not " + py_type_name(opt));
        const std::u32string p = utf8_decode(opt.as_str());
        if (lo > hi || hi - lo < p.size()) continue;
        const size_t at = name == "startswith" ? lo : hi - p.size();
        if (std::u32string_view(cps).substr(at, p.size()) == p) return Value::boolean(true);
    }
    return Value::boolean(false);
}

// find/rfind/index/rindex/count: code point positions, optional [start:end] window.
Value str_search(const std::string& s, const std::string& name, const Args& args) {
    const auto a = bind_args(args, {"sub", "start", "end"}, name, 1);
    const std::u32string cps = utf8_decode(s);
    const std::u32string sub = utf8_decode(need_str(*a[0], "substring"));
    size_t lo, hi;
    clamp_range(a[1], a[2], cps.size(), lo, hi);
    if (name == "count") {
        if (lo > hi) return Value::integer(0);
        if (sub.empty()) return Value::integer(static_cast<int64_t>(hi - lo + 1));
        const std::u32string_view window = std::u32string_view(cps).substr(0, hi);
        int64_t n = 0;
        for (size_t at = lo; (at = window.find(sub, at)) != std::u32string_view::npos; at += sub.size()) ++n;
        return Value::integer(n);
    }
    const int64_t at = find_cps(cps, sub, lo, hi, name[0] == 'r');
    if (at < 0 && (name == "index" || name == "rindex")) fail_runtime("substring not found");
    return Value::integer(at);
}

Value str_join(Renderer& r, const std::string& s, const Args& args) {
    const auto a = bind_args(args, {"iterable"}, "join", 1);
    const ListPtr items = r.iterate(*a[0]);
    std::string out;
    for (size_t i = 0; i < items->items.size(); ++i) {
        const Value& item = items->items[i];
        if (!item.is_string())
            fail_runtime("sequence item " + std::to_string(i) + ": expected str instance, " + py_type_name(item) + " found");
        if (i) out += s;
        out += item.as_str();
        r.check_string_size(out.size());
    }
    return r.make_str(std::move(out));
}

Value str_predicate(const std::string& s, const std::string& name, const Args& args) {
    bind_args(args, {}, name);
    if (name == "isalnum") return Value::boolean(all_cps(s, py_isalnum));
    if (name == "isalpha") return Value::boolean(all_cps(s, py_isalpha));
    if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") return Value::boolean(all_cps(s, py_isdigit));
    if (name == "isspace") return Value::boolean(all_cps(s, py_isspace));
    if (name == "islower") return Value::boolean(case_test(s, true));
    if (name == "isupper") return Value::boolean(case_test(s, false));
    if (name == "istitle") return Value::boolean(istitle(s));
    fail_unsupported("str." + name);
}

Value str_zfill(Renderer& r, const std::string& s, const Args& args) {
    const auto a = bind_args(args, {"width"}, "zfill", 1);
    const int64_t width = need_int(*a[0], "width");
    const auto len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return Value::string(s);
    r.check_string_size(static_cast<size_t>(width));
    const bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
    std::string out = sign ? s.substr(0, 1) : "";
    out += std::string(static_cast<size_t>(width - len), '0');
    out += sign ? s.substr(1) : s;
    return r.make_str(std::move(out));
}

Value str_partition(Renderer& r, const std::string& s, const std::string& name, const Args& args) {
    const auto a = bind_args(args, {"sep"}, name, 1);
    const std::string& sep = need_str(*a[0], "sep");
    if (sep.empty()) fail_runtime("empty separator");
    const size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    const Value empty = Value::string(std::string());
    if (at == std::string::npos)
        return r.make_list(name == "partition" ? std::vector<Value>{Value::string(s), empty, empty}
                                               : std::vector<Value>{empty, empty, Value::string(s)},
                           ListFlavor::Tuple);
    return r.make_list({Value::string(s.substr(0, at)), Value::string(sep), Value::string(s.substr(at + sep.size()))},
                       ListFlavor::Tuple);
}

Value str_remove_affix(const std::string& s, const std::string& name, const Args& args) {
    const auto a = bind_args(args, {"affix"}, name, 1);
    const std::string& affix = need_str(*a[0], name.c_str());
    if (name == "removeprefix" && s.rfind(affix, 0) == 0) return Value::string(s.substr(affix.size()));
    if (name == "removesuffix" && s.size() >= affix.size() && s.compare(s.size() - affix.size(), affix.size(), affix) == 0)
        return Value::string(s.substr(0, s.size() - affix.size()));
    return Value::string(s);
}

}  // namespace

Value Renderer::call_str_method(const std::string& s, const std::string& name, Args args) {
    step(s.size() / 256);
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "casefold" ||
        name == "swapcase")
        return str_case_method(*this, s, name, args);
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const auto a = bind_args(args, {"chars"}, name);
        return make_str(strip(s, a[0], name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") return str_split_method(*this, s, name, args);
    if (name == "splitlines") return str_splitlines(*this, s, args);
    if (name == "startswith" || name == "endswith") return str_affix_test(s, name, args);
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count")
        return str_search(s, name, args);
    if (name == "replace") {
        const auto a = bind_args(args, {"old", "new", "count"}, name, 2);
        const int64_t count = a[2] ? need_int(*a[2], "count") : -1;
        return make_str(py_replace(s, need_str(*a[0], "replace() argument 1"), need_str(*a[1], "replace() argument 2"), count));
    }
    if (name == "join") return str_join(*this, s, args);
    if (name == "format") return make_str(str_format(*this, s, args));
    if (name.rfind("is", 0) == 0) return str_predicate(s, name, args);
    if (name == "ljust" || name == "rjust" || name == "center") {
        const auto a = bind_args(args, {"width", "fillchar"}, name, 1);
        std::string fill = " ";
        if (a[1]) {
            fill = need_str(*a[1], "fillchar");
            if (utf8_length(fill) != 1) fail_runtime("The fill character must be exactly one character long");
        }
        return make_str(py_justify(s, need_int(*a[0], "width"), fill, name[0]));
    }
    if (name == "zfill") return str_zfill(*this, s, args);
    if (name == "removeprefix" || name == "removesuffix") return str_remove_affix(s, name, args);
    if (name == "partition" || name == "rpartition") return str_partition(*this, s, name, args);
    fail_unsupported("str." + name);
}

std::string Renderer::py_replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
    std::string out;
    if (old.empty()) {
        // Python inserts the replacement before every code point and at the end.
        size_t i = 0;
        int64_t done = 0;
        while (count < 0 || done < count) {
            out += repl;
            ++done;
            if (i >= s.size()) break;
            const size_t start = i;
            utf8_next(s, i);
            out.append(s, start, i - start);
            check_string_size(out.size());
        }
        out.append(s, std::min(i, s.size()), std::string::npos);
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t at = s.find(old, start);
        if (at == std::string::npos) break;
        out.append(s, start, at - start);
        out += repl;
        check_string_size(out.size());
        start = at + old.size();
        ++done;
    }
    out.append(s, start, std::string::npos);
    return out;
}

std::string Renderer::py_justify(const std::string& s, int64_t width, const std::string& fill, char how) {
    const auto len = static_cast<int64_t>(utf8_length(s));
    if (width <= len) return s;
    const int64_t total = width - len;
    check_string_size(static_cast<size_t>(total) * fill.size() + s.size());
    int64_t left = 0;
    if (how == 'r') left = total;
    else if (how == 'c') left = total / 2 + (total & width & 1);  // CPython's pad() for center
    std::string out;
    for (int64_t i = 0; i < left; ++i) out += fill;
    out += s;
    for (int64_t i = 0; i < total - left; ++i) out += fill;
    return out;
}

}  // namespace moe::jinja
