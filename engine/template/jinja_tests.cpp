// jinja2's builtin tests (`x is defined`, `x is divisibleby 3`...), from jinja2/tests.py.
#include <algorithm>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_parser.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

constexpr std::string_view kTests[] = {
    "odd",     "even",     "divisibleby", "defined", "undefined", "filter", "test",     "none",    "boolean",
    "false",   "true",     "integer",     "float",   "lower",     "upper",  "string",   "mapping", "number",
    "sequence", "iterable", "callable",   "sameas",  "escaped",   "in",     "==",       "eq",      "equalto",
    "!=",      "ne",       ">",           "gt",      "greaterthan", "ge",   ">=",       "<",       "lt",
    "lessthan", "<=",      "le"};

bool str_case(const std::string& s, bool lower) {
    bool cased = false;
    size_t i = 0;
    while (i < s.size()) {
        const char32_t c = utf8_next(s, i);
        if (lower ? py_is_upper(c) : py_is_lower(c)) return false;
        if (lower ? py_is_lower(c) : py_is_upper(c)) cased = true;
    }
    return cased;
}

// CPython caches small ints and singletons; `is` on other values compares object identity,
// which for our shared values means the same underlying storage.
bool same_object(const Value& a, const Value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::Undefined: return a.undefined_info() == b.undefined_info();
        case Kind::None: return true;
        case Kind::Bool: return a.as_bool() == b.as_bool();
        case Kind::Int: return a.as_int() == b.as_int() && a.as_int() >= -5 && a.as_int() <= 256;
        case Kind::String: return a.str_ptr() == b.str_ptr();
        case Kind::List: return a.list_ptr() == b.list_ptr();
        case Kind::Dict: return a.dict_ptr() == b.dict_ptr();
        case Kind::Namespace: return a.as_ns() == b.as_ns();
        case Kind::Callable: return &a.as_callable() == &b.as_callable();
        case Kind::Loop: return &a.as_loop() == &b.as_loop();
        default: return false;
    }
}

}  // namespace

Support test_support(std::string_view name) {
    return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests) ? Support::Implemented : Support::Unknown;
}

bool Renderer::test(const std::string& name, const Value& v, Args args) {
    step();
    if (test_support(name) != Support::Implemented) fail_runtime("No test named '" + name + "' found.");
    if (name == "defined" || name == "undefined" || name == "none" || name == "boolean" || name == "false" ||
        name == "true" || name == "integer" || name == "float" || name == "string" || name == "mapping" ||
        name == "number" || name == "escaped" || name == "callable") {
        bind_args(args, {}, name);
        const Kind k = v.kind();
        if (name == "defined") return k != Kind::Undefined;
        if (name == "undefined") return k == Kind::Undefined;
        if (name == "none") return k == Kind::None;
        if (name == "boolean") return k == Kind::Bool;
        if (name == "false") return k == Kind::Bool && !v.as_bool();
        if (name == "true") return k == Kind::Bool && v.as_bool();
        if (name == "integer") return k == Kind::Int;
        if (name == "float") return k == Kind::Float;
        if (name == "string") return k == Kind::String;
        if (name == "mapping") return k == Kind::Dict;
        if (name == "number") return v.is_number();
        if (name == "escaped") return false;
        return k == Kind::Callable || k == Kind::Undefined || k == Kind::Loop;
    }
    if (name == "iterable" || name == "sequence") {
        bind_args(args, {}, name);
        const Kind k = v.kind();
        if (k == Kind::Undefined || k == Kind::String || k == Kind::Dict) return true;
        if (k == Kind::List) {
            const ListFlavor f = v.as_list().flavor;
            return name == "iterable" || f == ListFlavor::List || f == ListFlavor::Tuple;
        }
        return name == "iterable" && k == Kind::Loop;
    }
    if (name == "odd" || name == "even") {
        bind_args(args, {}, name);
        const Value r = binary(BinOp::Mod, v, Value::integer(2));
        return py_equal(r, Value::integer(name == "odd" ? 1 : 0));
    }
    if (name == "lower" || name == "upper") {
        bind_args(args, {}, name);
        return str_case(to_str(v), name == "lower");
    }
    if (name == "filter" || name == "test") {
        bind_args(args, {}, name);
        if (!v.is_string()) return false;
        return (name == "filter" ? filter_support(v.as_str()) : test_support(v.as_str())) == Support::Implemented;
    }
    const auto a = bind_args(args, {"other"}, name, 1);
    const Value& other = *a[0];
    if (name == "divisibleby") return py_equal(binary(BinOp::Mod, v, other), Value::integer(0));
    if (name == "sameas") return same_object(v, other);
    if (name == "in") return contains(other, v);
    if (name == "==" || name == "eq" || name == "equalto") return compare(CmpOp::Eq, v, other);
    if (name == "!=" || name == "ne") return compare(CmpOp::Ne, v, other);
    if (name == ">" || name == "gt" || name == "greaterthan") return compare(CmpOp::Gt, v, other);
    if (name == ">=" || name == "ge") return compare(CmpOp::Ge, v, other);
    if (name == "<" || name == "lt" || name == "lessthan") return compare(CmpOp::Lt, v, other);
    if (name == "<=" || name == "le") return compare(CmpOp::Le, v, other);
    fail_unsupported("the '" + name + "' test");
}

}  // namespace moe::jinja
