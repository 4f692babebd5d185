#include "template/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "template/jinja_error.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

// ---- work metering ---------------------------------------------------------------------------

namespace {
thread_local WorkMeter* t_meter = nullptr;
}

ScopedWorkMeter::ScopedWorkMeter(WorkMeter* meter) : previous_(t_meter) { t_meter = meter; }
ScopedWorkMeter::~ScopedWorkMeter() { t_meter = previous_; }

void charge_work(uint64_t n) {
    if (!t_meter) return;
    t_meter->steps += n;
    if (t_meter->steps > t_meter->max_steps)
        fail_limit("template exceeded " + std::to_string(t_meter->max_steps) + " evaluation steps");
}

// ---- construction ---------------------------------------------------------------------------

Value Value::undefined(std::string hint, bool security) {
    Value v;
    v.v_ = std::make_shared<const UndefinedInfo>(UndefinedInfo{std::move(hint), security});
    return v;
}
Value Value::none() {
    Value v;
    v.v_ = std::monostate{};
    return v;
}
Value Value::boolean(bool b) {
    Value v;
    v.v_ = b;
    return v;
}
Value Value::integer(int64_t i) {
    Value v;
    v.v_ = i;
    return v;
}
Value Value::number(double d) {
    Value v;
    v.v_ = d;
    return v;
}
Value Value::string(std::string s) { return string(std::make_shared<const std::string>(std::move(s))); }
Value Value::string(Str s) {
    Value v;
    v.v_ = std::move(s);
    return v;
}
Value Value::list(std::vector<Value> items, ListFlavor flavor) {
    uint32_t depth = 0;
    for (const auto& item : items) depth = std::max(depth, item.depth());
    if (depth + 1 > kMaxValueDepth) fail_limit("lists and dicts nest deeper than " + std::to_string(kMaxValueDepth));
    auto data = std::make_shared<ListData>();
    data->items = std::move(items);
    data->flavor = flavor;
    data->depth = depth + 1;
    Value v;
    v.v_ = ListPtr(std::move(data));
    return v;
}
Value Value::dict(DictPtr d) {
    Value v;
    v.v_ = std::move(d);
    return v;
}
Value Value::ns(Namespace* n) {
    Value v;
    v.v_ = n;
    return v;
}
Value Value::callable(CallablePtr c) {
    Value v;
    v.v_ = std::move(c);
    return v;
}
Value Value::loop(LoopPtr l) {
    Value v;
    v.v_ = std::move(l);
    return v;
}

void Value::wrong_type(const char* wanted) const {
    fail_runtime(std::string("expected ") + wanted + ", got '" + py_type_name(*this) + "'");
}

uint32_t Value::depth() const {
    if (kind() == Kind::List) return as_list().depth;
    if (kind() == Kind::Dict) return as_dict().depth;
    return 0;
}

// ---- dict and namespace -----------------------------------------------------------------------

const Value* DictData::find(std::string_view key) const {
    if (!index_.empty()) {
        auto it = index_.find(key);
        return it == index_.end() ? nullptr : &items[it->second].second;
    }
    for (const auto& [k, v] : items)
        if (k.is_string() && k.as_str() == key) return &v;
    return nullptr;
}

const Value* DictData::find(const Value& key) const {
    if (key.is_string()) return find(std::string_view(key.as_str()));
    charge_work(items.size() / 16);
    for (const auto& [k, v] : items)
        if (!k.is_string() && py_equal(k, key)) return &v;
    return nullptr;
}

void DictData::set(Value key, Value value) {
    if (!py_hashable(key)) fail_runtime("unhashable type: '" + py_type_name(key) + "'");
    depth = std::max(depth, value.depth() + 1);
    if (depth > kMaxValueDepth) fail_limit("lists and dicts nest deeper than " + std::to_string(kMaxValueDepth));
    if (const Value* existing = find(key)) {
        const_cast<Value&>(*existing) = std::move(value);
        return;
    }
    items.emplace_back(std::move(key), std::move(value));
    constexpr size_t kIndexFrom = 16;
    if (items.size() == kIndexFrom) {
        for (size_t i = 0; i < items.size(); ++i)
            if (items[i].first.is_string()) index_.emplace(items[i].first.as_str(), i);
    } else if (items.size() > kIndexFrom && items.back().first.is_string()) {
        index_.emplace(items.back().first.as_str(), items.size() - 1);
    }
}

const Value* Namespace::find(std::string_view name) const {
    for (const auto& [k, v] : attrs)
        if (k == name) return &v;
    return nullptr;
}

void Namespace::set(const std::string& name, Value v) {
    for (auto& [k, old] : attrs)
        if (k == name) {
            old = std::move(v);
            return;
        }
    attrs.emplace_back(name, std::move(v));
}

// ---- truthiness and comparison ---------------------------------------------------------------

bool truthy(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
        case Kind::None:
            return false;
        case Kind::Bool:
            return v.as_bool();
        case Kind::Int:
            return v.as_int() != 0;
        case Kind::Float:
            return v.as_float() != 0.0;
        case Kind::String:
            return !v.as_str().empty();
        case Kind::List:
            return v.as_list().flavor == ListFlavor::Generator || !v.as_list().items.empty();
        case Kind::Dict:
            return !v.as_dict().items.empty();
        default:
            return true;
    }
}

namespace {

bool numbers_equal(const Value& a, const Value& b) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    if (a.is_integral()) return static_cast<long double>(a.as_int()) == static_cast<long double>(b.as_float());
    if (b.is_integral()) return static_cast<long double>(a.as_float()) == static_cast<long double>(b.as_int());
    return a.as_float() == b.as_float();
}

bool numbers_less(const Value& a, const Value& b) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    if (a.is_integral()) return static_cast<long double>(a.as_int()) < static_cast<long double>(b.as_float());
    if (b.is_integral()) return static_cast<long double>(a.as_float()) < static_cast<long double>(b.as_int());
    return a.as_float() < b.as_float();
}

bool same_identity(const Value& a, const Value& b) {
    switch (a.kind()) {
        case Kind::Namespace:
            return a.as_ns() == b.as_ns();
        case Kind::Callable:
            return &a.as_callable() == &b.as_callable();
        case Kind::Loop:
            return &a.as_loop() == &b.as_loop();
        default:
            return false;
    }
}

}  // namespace

bool py_equal(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return numbers_equal(a, b);
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::Undefined:
        case Kind::None:
            return true;
        case Kind::String:
            return a.str_ptr() == b.str_ptr() || a.as_str() == b.as_str();
        case Kind::List: {
            const ListData& x = a.as_list();
            const ListData& y = b.as_list();
            if (&x == &y) return true;
            if (x.flavor != y.flavor || x.flavor == ListFlavor::Generator || x.items.size() != y.items.size())
                return false;
            charge_work(x.items.size());
            for (size_t i = 0; i < x.items.size(); ++i)
                if (!py_equal(x.items[i], y.items[i])) return false;
            return true;
        }
        case Kind::Dict: {
            const DictData& x = a.as_dict();
            const DictData& y = b.as_dict();
            if (x.items.size() != y.items.size()) return false;
            charge_work(x.items.size());
            for (const auto& [k, v] : x.items) {
                const Value* other = y.find(k);
                if (!other || !py_equal(v, *other)) return false;
            }
            return true;
        }
        default:
            return same_identity(a, b);
    }
}

bool py_less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return numbers_less(a, b);
    if (a.is_undefined() || b.is_undefined()) {
        const Value& u = a.is_undefined() ? a : b;
        fail("template.undefined", u.undefined_info() ? u.undefined_info()->hint : "value is undefined");
    }
    if (a.is_string() && b.is_string()) return a.as_str() < b.as_str();  // UTF-8 order = code point order
    if (a.is_list() && b.is_list()) {
        const ListData& x = a.as_list();
        const ListData& y = b.as_list();
        const bool sequence = x.flavor == ListFlavor::List || x.flavor == ListFlavor::Tuple;
        if (x.flavor == y.flavor && sequence) {
            const size_t n = std::min(x.items.size(), y.items.size());
            charge_work(n);
            for (size_t i = 0; i < n; ++i)
                if (!py_equal(x.items[i], y.items[i])) return py_less(x.items[i], y.items[i]);
            return x.items.size() < y.items.size();
        }
    }
    fail_runtime("'<' not supported between instances of '" + py_type_name(a) + "' and '" + py_type_name(b) + "'");
}

bool py_hashable(const Value& v) {
    switch (v.kind()) {
        case Kind::Dict:
            return false;
        case Kind::List:
            if (v.as_list().flavor == ListFlavor::Generator) return true;
            if (v.as_list().flavor != ListFlavor::Tuple) return false;
            for (const auto& item : v.as_list().items)
                if (!py_hashable(item)) return false;
            return true;
        default:
            return true;
    }
}

std::string py_type_name(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
            return "Undefined";
        case Kind::None:
            return "NoneType";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::String:
            return "str";
        case Kind::List:
            switch (v.as_list().flavor) {
                case ListFlavor::List:
                    return "list";
                case ListFlavor::Tuple:
                    return "tuple";
                case ListFlavor::DictKeys:
                    return "dict_keys";
                case ListFlavor::DictValues:
                    return "dict_values";
                case ListFlavor::DictItems:
                    return "dict_items";
                case ListFlavor::Generator:
                    return "generator";
            }
            return "list";
        case Kind::Dict:
            return "dict";
        case Kind::Namespace:
            return "Namespace";
        case Kind::Callable:
            return v.as_callable().kind == CallableKind::Macro ? "Macro" : "builtin_function_or_method";
        case Kind::Loop:
            return "LoopContext";
    }
    return "object";
}

// ---- str() and repr() ----------------------------------------------------------------------------

std::string py_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then Python's layout: fixed for 1e-4 <= |d| < 1e16, else exponent.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    const bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    const size_t e_pos = sci.find('e');
    std::string digits = sci.substr(0, e_pos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exp = std::stoi(sci.substr(e_pos + 1));
    std::string out = negative ? "-" : "";
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            if (digits.size() <= static_cast<size_t>(exp) + 1) {
                out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
            } else {
                out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
            }
        } else {
            out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + exp_buf;
}

std::string py_repr_string(std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    size_t i = 0;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        char buf[16];
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (py_isprintable(c)) {
            utf8_append(out, c);
        } else {
            if (c <= 0xFF)
                std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
            else if (c <= 0xFFFF)
                std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
            else
                std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(c));
            out += buf;
        }
    }
    out += quote;
    return out;
}

namespace {

constexpr int kMaxReprDepth = 200;

void repr_append(std::string& out, const Value& v, int depth, size_t max);

void repr_items(std::string& out, const ListData& l, int depth, size_t max) {
    for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        repr_append(out, l.items[i], depth + 1, max);
    }
}

void repr_list(std::string& out, const ListData& l, int depth, size_t max) {
    switch (l.flavor) {
        case ListFlavor::List:
            out += '[';
            repr_items(out, l, depth, max);
            out += ']';
            return;
        case ListFlavor::Tuple:
            out += '(';
            repr_items(out, l, depth, max);
            if (l.items.size() == 1) out += ',';
            out += ')';
            return;
        case ListFlavor::Generator:
            out += "<generator object>";
            return;
        default:
            out += l.flavor == ListFlavor::DictKeys ? "dict_keys([" : l.flavor == ListFlavor::DictValues ? "dict_values([" : "dict_items([";
            repr_items(out, l, depth, max);
            out += "])";
    }
}

void repr_callable(std::string& out, const Callable& c) {
    switch (c.kind) {
        case CallableKind::Macro:
            out += "<Macro '" + c.name + "'>";
            return;
        case CallableKind::Caller:
            out += "<Macro 'caller'>";
            return;
        case CallableKind::Method:
            out += "<built-in method " + c.name + " of " + py_type_name(c.self) + " object>";
            return;
        default:
            out += "<function " + c.name + ">";
    }
}

void repr_append(std::string& out, const Value& v, int depth, size_t max) {
    if (depth > kMaxReprDepth) fail_limit("value nests too deeply to print");
    if (out.size() > max) fail_limit("value too large to print");
    switch (v.kind()) {
        case Kind::String:
            out += py_repr_string(v.as_str());
            return;
        case Kind::List:
            repr_list(out, v.as_list(), depth, max);
            return;
        case Kind::Dict: {
            out += '{';
            bool first = true;
            for (const auto& [k, val] : v.as_dict().items) {
                if (!first) out += ", ";
                first = false;
                repr_append(out, k, depth + 1, max);
                out += ": ";
                repr_append(out, val, depth + 1, max);
            }
            out += '}';
            return;
        }
        case Kind::Namespace: {
            out += "<Namespace {";
            bool first = true;
            for (const auto& [k, val] : v.as_ns()->attrs) {
                if (!first) out += ", ";
                first = false;
                out += py_repr_string(k) + ": ";
                repr_append(out, val, depth + 1, max);
            }
            out += "}>";
            return;
        }
        case Kind::Callable:
            repr_callable(out, v.as_callable());
            return;
        case Kind::Loop: {
            const LoopState& l = v.as_loop();
            out += "<LoopContext " + std::to_string(l.index0 + 1) + "/" + std::to_string(l.items->items.size()) + ">";
            return;
        }
        default:
            py_str_append(out, v, max);
    }
}

}  // namespace

void py_str_append(std::string& out, const Value& v, size_t max) {
    switch (v.kind()) {
        case Kind::Undefined:
            break;
        case Kind::None:
            out += "None";
            break;
        case Kind::Bool:
            out += v.as_bool() ? "True" : "False";
            break;
        case Kind::Int:
            out += std::to_string(v.as_int());
            break;
        case Kind::Float:
            out += py_float_repr(v.as_float());
            break;
        case Kind::String:
            if (out.size() + v.as_str().size() > max) fail_limit("value too large to print");
            out += v.as_str();
            break;
        default:
            repr_append(out, v, 0, max);
    }
    if (out.size() > max) fail_limit("value too large to print");
}

std::string py_str(const Value& v, size_t max) {
    std::string out;
    py_str_append(out, v, max);
    return out;
}

std::string py_repr(const Value& v, size_t max) {
    std::string out;
    repr_append(out, v, 0, max);
    if (out.size() > max) fail_limit("value too large to print");
    return out;
}

// ---- JSON input ---------------------------------------------------------------------------------

namespace {

template <class J>
Value from_json(const J& j, uint32_t depth) {
    if (depth > kMaxValueDepth) fail_limit("JSON input nests deeper than " + std::to_string(kMaxValueDepth));
    switch (j.type()) {
        case nlohmann::json::value_t::null:
            return Value::none();
        case nlohmann::json::value_t::boolean:
            return Value::boolean(j.template get<bool>());
        case nlohmann::json::value_t::number_integer:
            return Value::integer(j.template get<int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            const auto u = j.template get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) fail_unsupported("JSON integer does not fit in 64 bits");
            return Value::integer(static_cast<int64_t>(u));
        }
        case nlohmann::json::value_t::number_float:
            return Value::number(j.template get<double>());
        case nlohmann::json::value_t::string: {
            const auto& s = j.template get_ref<const std::string&>();
            if (!utf8_valid(s)) fail_runtime("a string in the JSON input is not valid UTF-8");
            return Value::string(s);
        }
        case nlohmann::json::value_t::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e, depth + 1));
            return Value::list(std::move(items));
        }
        case nlohmann::json::value_t::object: {
            auto d = std::make_shared<DictData>();
            for (auto it = j.begin(); it != j.end(); ++it) d->set(Value::string(it.key()), from_json(it.value(), depth + 1));
            return Value::dict(std::move(d));
        }
        default:
            fail_unsupported("JSON value of this type (binary or discarded) cannot be a template value");
    }
}

}  // namespace

Value value_from_json(const Json& j) { return from_json(j, 0); }
Value value_from_json(const nlohmann::ordered_json& j) { return from_json(j, 0); }

}  // namespace moe::jinja
