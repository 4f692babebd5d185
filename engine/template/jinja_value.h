// The value type of the Jinja engine: Python's object model, reduced to what chat templates use.
//
// Lists and dicts are immutable once built (the sandbox forbids list.append and friends), so they
// are shared by pointer and copying a Value is cheap. The only mutable objects are namespaces and
// loop states; namespaces live in the render's arena (they can form cycles through attributes),
// so Values hold them by raw pointer and nothing leaks when a template builds a cycle.
#pragma once

#include <cstdint>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/strict_json.h"

namespace moe::jinja {

class Value;
struct ListData;
struct DictData;
struct Namespace;
struct Callable;
struct LoopState;

using Str = std::shared_ptr<const std::string>;
using ListPtr = std::shared_ptr<const ListData>;
using DictPtr = std::shared_ptr<const DictData>;
using CallablePtr = std::shared_ptr<const Callable>;
using LoopPtr = std::shared_ptr<LoopState>;

enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable, Loop };

// Python types that behave like a list of values but print and answer `len()` differently.
enum class ListFlavor : uint8_t { List, Tuple, DictKeys, DictValues, DictItems, Generator };

struct UndefinedInfo {
    std::string hint;       // the UndefinedError message when the value is used
    bool security = false;  // access was refused by the sandbox (SecurityError when used)
};

class Value {
public:
    Value() = default;  // undefined
    static Value undefined(std::string hint, bool security = false);
    static Value none();
    static Value boolean(bool b);
    static Value integer(int64_t i);
    static Value number(double d);
    static Value string(std::string s);
    static Value string(Str s);
    static Value list(std::vector<Value> items, ListFlavor flavor = ListFlavor::List);
    static Value dict(DictPtr d);
    static Value ns(Namespace* n);
    static Value callable(CallablePtr c);
    static Value loop(LoopPtr l);

    Kind kind() const { return static_cast<Kind>(v_.index()); }
    bool is_undefined() const { return kind() == Kind::Undefined; }
    bool is_none() const { return kind() == Kind::None; }
    bool is_string() const { return kind() == Kind::String; }
    bool is_list() const { return kind() == Kind::List; }
    bool is_dict() const { return kind() == Kind::Dict; }
    // Python int (bool is an int subclass) and float.
    bool is_integral() const { return kind() == Kind::Int || kind() == Kind::Bool; }
    bool is_number() const { return is_integral() || kind() == Kind::Float; }

    // Typed access. The wrong kind throws template.runtime (a Python TypeError) rather than
    // std::bad_variant_access, so a template passing e.g. a string where an int belongs fails cleanly.
    bool as_bool() const { return get<bool>("bool"); }
    int64_t as_int() const {
        if (kind() == Kind::Int) return std::get<int64_t>(v_);
        if (kind() == Kind::Bool) return std::get<bool>(v_) ? 1 : 0;
        wrong_type("int");
    }
    double as_float() const {
        if (kind() == Kind::Float) return std::get<double>(v_);
        return static_cast<double>(as_int());
    }
    const std::string& as_str() const { return *str_ptr(); }
    const Str& str_ptr() const { return get<Str>("str"); }
    const ListData& as_list() const { return *list_ptr(); }
    const ListPtr& list_ptr() const { return get<ListPtr>("list"); }
    const DictData& as_dict() const { return *dict_ptr(); }
    const DictPtr& dict_ptr() const { return get<DictPtr>("dict"); }
    Namespace* as_ns() const { return get<Namespace*>("namespace"); }
    const Callable& as_callable() const { return *get<CallablePtr>("callable"); }
    LoopState& as_loop() const { return *get<LoopPtr>("loop"); }
    const UndefinedInfo* undefined_info() const {
        return kind() == Kind::Undefined ? std::get<std::shared_ptr<const UndefinedInfo>>(v_).get() : nullptr;
    }

    // Nesting depth of lists and dicts (scalars 0); bounded so recursion over values stays shallow.
    uint32_t depth() const;

private:
    [[noreturn]] void wrong_type(const char* wanted) const;
    template <class T>
    const T& get(const char* wanted) const {
        if (const T* p = std::get_if<T>(&v_)) return *p;
        wrong_type(wanted);
    }

    using Variant = std::variant<std::shared_ptr<const UndefinedInfo>, std::monostate, bool, int64_t, double, Str,
                                 ListPtr, DictPtr, Namespace*, CallablePtr, LoopPtr>;
    Variant v_;
};

struct ListData {
    std::vector<Value> items;
    ListFlavor flavor = ListFlavor::List;
    uint32_t depth = 1;
};

// An insertion-ordered Python dict. String keys are indexed; other keys are few and scanned.
struct DictData {
    std::vector<std::pair<Value, Value>> items;
    uint32_t depth = 1;

    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
    // Python dict assignment: a new key goes last, an existing key keeps its place.
    void set(Value key, Value value);

private:
    // Built once a dict grows past a few keys; views point into the immutable key strings.
    std::unordered_map<std::string_view, size_t> index_;
};

struct Namespace {
    std::vector<std::pair<std::string, Value>> attrs;
    const Value* find(std::string_view name) const;
    void set(const std::string& name, Value v);
};

struct Stmt;
struct Scope;

enum class CallableKind : uint8_t { Global, Method, Macro, Caller, LoopCycle, LoopChanged };

// Anything a template can call: a global (range, namespace...), a bound method ("a".upper),
// a macro or a call block's `caller`, or a bound method of a loop.
struct Callable {
    CallableKind kind = CallableKind::Global;
    std::string name;
    Value self;                   // the bound object of a method
    const Stmt* node = nullptr;   // Macro or CallBlock statement
    Scope* closure = nullptr;     // scope the macro was defined in (checked alive before use)
    uint64_t closure_id = 0;
};

struct LoopState {
    ListPtr items;
    size_t index0 = 0;
    uint32_t depth0 = 0;
    // loop.changed()'s memory lives in the render's arena: the remembered arguments may hold this
    // loop itself (loop.changed(loop)), which would be a reference cycle if owned here.
    Value* last_changed = nullptr;
};

// Deep work inside value operations (== and < on big lists, dict lookups by non-string keys) is
// charged to the step budget of the render running on this thread, so it cannot run unmetered.
struct WorkMeter {
    uint64_t steps = 0;
    uint64_t max_steps = UINT64_MAX;
};
class ScopedWorkMeter {
public:
    explicit ScopedWorkMeter(WorkMeter* meter);
    ~ScopedWorkMeter();
    ScopedWorkMeter(const ScopedWorkMeter&) = delete;
    ScopedWorkMeter& operator=(const ScopedWorkMeter&) = delete;

private:
    WorkMeter* previous_;
};
// Adds n steps to the active meter; throws template.limit when its budget is spent.
void charge_work(uint64_t n);

// Lists and dicts nest at most this deep; deeper values are refused with template.limit.
inline constexpr uint32_t kMaxValueDepth = 128;

// Python's truthiness, ==, <, str() and repr().
bool truthy(const Value& v);
bool py_equal(const Value& a, const Value& b);
// Python `a < b`; throws template.runtime (TypeError) for unorderable types.
bool py_less(const Value& a, const Value& b);
// Python hashability (dict keys, unique filter).
bool py_hashable(const Value& v);
// max_bytes bounds the text produced (template.limit beyond it): a list can hold many references
// to one large string, so printing it could otherwise outgrow memory.
std::string py_str(const Value& v, size_t max_bytes = SIZE_MAX);
std::string py_repr(const Value& v, size_t max_bytes = SIZE_MAX);
void py_str_append(std::string& out, const Value& v, size_t max_bytes = SIZE_MAX);
std::string py_repr_string(std::string_view s);
std::string py_float_repr(double d);
// Python type name as used in error messages: "int", "str", "dict", "NoneType"...
std::string py_type_name(const Value& v);

// JSON input (messages, tools, extra context). ordered_json keeps Python's dict order.
Value value_from_json(const Json& j);
Value value_from_json(const nlohmann::ordered_json& j);

}  // namespace moe::jinja
