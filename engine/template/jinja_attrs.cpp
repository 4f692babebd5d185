// Attribute lookup (jinja2 SandboxedEnvironment.getattr), the global functions transformers
// exposes, and the `loop` object.
#include <algorithm>
#include <ctime>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"

namespace moe::jinja {

namespace {

template <size_t N>
bool in_list(const std::string& name, const std::string_view (&names)[N]) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Python str methods: the implemented ones, then the rest of str's public attributes.
constexpr std::string_view kStrMethods[] = {
    "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha",
    "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill"};
constexpr std::string_view kStrOther[] = {"encode", "expandtabs", "format_map", "isascii",
                                                               "isidentifier", "isprintable", "maketrans",
                                                               "translate"};
constexpr std::string_view kDictMethods[] = {"get", "items", "keys", "values", "copy"};
constexpr std::string_view kDictMutators[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view kListMutators[] = {"append", "clear",  "extend", "insert",
                                                                   "pop",    "remove", "reverse", "sort"};
constexpr std::string_view kNumberAttrs[] = {
    "real", "imag", "conjugate", "bit_length", "bit_count", "to_bytes", "from_bytes", "as_integer_ratio",
    "numerator", "denominator", "is_integer", "hex", "fromhex"};

Value bound_method(const Value& self, const std::string& name) {
    auto c = std::make_shared<Callable>();
    c->kind = CallableKind::Method;
    c->name = name;
    c->self = self;
    return Value::callable(std::move(c));
}

Value unsafe(const Value& obj, const std::string& name) {
    return Value::undefined("access to attribute '" + name + "' of '" + py_type_name(obj) + "' object is unsafe.", true);
}

Value no_attribute(const Value& obj, const std::string& name) {
    const std::string type = obj.is_none() ? "None" : py_type_name(obj) + " object";
    return Value::undefined("'" + type + "' has no attribute '" + name + "'");
}

}  // namespace

Value Renderer::getattr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) fail_undefined(obj);
    return attr_of(obj, name, true);
}

Value Renderer::attr_of(const Value& obj, const std::string& name, bool item_fallback) {
    if (obj.is_undefined()) fail_undefined(obj);
    // Dunder attributes exist on every Python object and the sandbox refuses all of them.
    if (name.size() > 4 && name.rfind("__", 0) == 0 && name.compare(name.size() - 2, 2, "__") == 0) return unsafe(obj, name);
    switch (obj.kind()) {
        case Kind::String:
            if (in_list(name, kStrMethods)) return bound_method(obj, name);
            if (in_list(name, kStrOther)) fail_unsupported("str." + name);
            break;
        case Kind::Dict:
            if (in_list(name, kDictMethods)) return bound_method(obj, name);
            if (in_list(name, kDictMutators)) return unsafe(obj, name);
            if (name == "fromkeys") fail_unsupported("dict.fromkeys");
            if (item_fallback)
                if (const Value* v = obj.as_dict().find(std::string_view(name))) return *v;
            break;
        case Kind::List: {
            const ListFlavor f = obj.as_list().flavor;
            if (f == ListFlavor::List || f == ListFlavor::Tuple) {
                if (name == "count" || name == "index" || (name == "copy" && f == ListFlavor::List))
                    return bound_method(obj, name);
                if (f == ListFlavor::List && in_list(name, kListMutators)) return unsafe(obj, name);
            }
            break;
        }
        case Kind::Namespace:
            if (const Value* v = obj.as_ns()->find(name)) return *v;
            break;
        case Kind::Loop:
            return loop_attr(obj, name);
        case Kind::Bool:
        case Kind::Int:
        case Kind::Float:
            if (in_list(name, kNumberAttrs)) fail_unsupported("attribute '" + name + "' of numbers");
            break;
        default:
            break;
    }
    return no_attribute(obj, name);
}

// ---- loop ---------------------------------------------------------------------------------------------

Value Renderer::loop_attr(const Value& loop, const std::string& name) {
    const LoopState& l = loop.as_loop();
    const auto n = static_cast<int64_t>(l.items->items.size());
    const auto i = static_cast<int64_t>(l.index0);
    if (name == "index") return Value::integer(i + 1);
    if (name == "index0") return Value::integer(i);
    if (name == "revindex") return Value::integer(n - i);
    if (name == "revindex0") return Value::integer(n - i - 1);
    if (name == "first") return Value::boolean(i == 0);
    if (name == "last") return Value::boolean(i == n - 1);
    if (name == "length") return Value::integer(n);
    if (name == "depth") return Value::integer(l.depth0 + 1);
    if (name == "depth0") return Value::integer(l.depth0);
    if (name == "previtem")
        return i > 0 ? l.items->items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item");
    if (name == "nextitem")
        return i + 1 < n ? l.items->items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item");
    if (name == "cycle" || name == "changed") {
        auto c = std::make_shared<Callable>();
        c->kind = name == "cycle" ? CallableKind::LoopCycle : CallableKind::LoopChanged;
        c->name = name;
        c->self = loop;
        return Value::callable(std::move(c));
    }
    return no_attribute(loop, name);
}

Value Renderer::call_loop_method(const Callable& c, Args args) {
    LoopState& l = c.self.as_loop();
    if (!args.kw.empty()) fail_runtime("loop." + c.name + "() takes no keyword arguments");
    if (c.kind == CallableKind::LoopCycle) {
        if (args.pos.empty()) fail_runtime("no items for cycling given");
        return args.pos[l.index0 % args.pos.size()];
    }
    Value current = make_list(std::move(args.pos));
    if (l.last_changed && py_equal(current, *l.last_changed)) return Value::boolean(false);
    if (!l.last_changed) l.last_changed = &loop_memory_.emplace_back();
    *l.last_changed = std::move(current);
    return Value::boolean(true);
}

// ---- globals -------------------------------------------------------------------------------------------

namespace {

int64_t range_arg(const Value& v) {
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_integral()) fail_runtime("'" + py_type_name(v) + "' object cannot be interpreted as an integer");
    return v.as_int();
}

// jinja2's sandboxed range(): Python's range, refused beyond MAX_RANGE (100000) items.
Value call_range(Renderer& r, const Args& args) {
    if (!args.kw.empty()) fail_runtime("range() takes no keyword arguments");
    if (args.pos.empty() || args.pos.size() > 3)
        fail_runtime("range expected at most 3 arguments, got " + std::to_string(args.pos.size()));
    int64_t start = 0, stop, stride = 1;
    if (args.pos.size() == 1) {
        stop = range_arg(args.pos[0]);
    } else {
        start = range_arg(args.pos[0]);
        stop = range_arg(args.pos[1]);
        if (args.pos.size() == 3) stride = range_arg(args.pos[2]);
    }
    if (stride == 0) fail_runtime("range() arg 3 must not be zero");
    // CPython's length formula in unsigned arithmetic, which cannot overflow.
    uint64_t len = 0;
    if (stride > 0 && start < stop)
        len = (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) / static_cast<uint64_t>(stride) + 1;
    if (stride < 0 && start > stop)
        len = (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) / (static_cast<uint64_t>(-(stride + 1)) + 1) + 1;
    if (len > 100000) fail_limit("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    std::vector<Value> items;
    items.reserve(static_cast<size_t>(len));
    for (uint64_t k = 0; k < len; ++k) items.push_back(Value::integer(start + static_cast<int64_t>(k) * stride));
    return r.make_list(std::move(items));
}

// dict(mapping_or_pairs, **kw) and namespace(...), which takes the same arguments.
std::shared_ptr<DictData> dict_from_args(Renderer& r, const std::string& name, const Args& args) {
    if (args.pos.size() > 1) fail_runtime(name + " expected at most 1 argument, got " + std::to_string(args.pos.size()));
    auto d = std::make_shared<DictData>();
    if (!args.pos.empty()) {
        const Value& src = args.pos[0];
        if (src.is_dict()) {
            for (const auto& [k, v] : src.as_dict().items) d->set(k, v);
        } else {
            const ListPtr pairs = r.iterate(src);
            for (const auto& pair : pairs->items) {
                const ListPtr kv = r.iterate(pair);
                if (kv->items.size() != 2) fail_runtime("dictionary update sequence element has wrong length");
                d->set(kv->items[0], kv->items[1]);
            }
        }
    }
    for (const auto& [k, v] : args.kw) d->set(Value::string(k), v);
    return d;
}

Value call_strftime_now(Renderer& r, const Args& args) {
    const auto a = bind_args(args, {"format"}, "strftime_now", 1);
    if (!a[0]->is_string()) fail_runtime("strftime() argument 1 must be str, not " + py_type_name(*a[0]));
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof(buf), a[0]->as_str().c_str(), &local);
    if (n == 0 && !a[0]->as_str().empty()) fail_unsupported("strftime_now format producing no or too much output");
    return r.make_str(std::string(buf, n));
}

}  // namespace

Value Renderer::call_global(const Callable& c, Args args) {
    const std::string& name = c.name;
    if (name == "range") return call_range(*this, args);
    if (name == "dict") return Value::dict(dict_from_args(*this, name, args));
    if (name == "namespace") {
        const auto d = dict_from_args(*this, name, args);
        Namespace* ns = new_namespace();
        for (const auto& [k, v] : d->items) {
            if (!k.is_string()) fail_runtime("keywords must be strings");
            ns->set(k.as_str(), v);
        }
        return Value::ns(ns);
    }
    if (name == "raise_exception") {
        const auto a = bind_args(args, {"message"}, name, 1);
        fail("template.raised", to_str(*a[0]));
    }
    if (name == "strftime_now") return call_strftime_now(*this, args);
    fail_unsupported("the global function '" + name + "'");
}

}  // namespace moe::jinja
