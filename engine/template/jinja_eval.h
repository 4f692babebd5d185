// Tree-walking evaluator for parsed templates, in a sandbox.
//
// Semantics follow jinja2's ImmutableSandboxedEnvironment as configured by transformers: default
// Undefined (prints as "", fails when used), attribute lookup that falls back to item lookup,
// Python operators and truthiness, no mutation of lists or dicts, range() capped at 100000 items.
// Every evaluation step, every created string and list, the output size and the recursion depth
// are metered; crossing a limit throws template.limit instead of running away.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "template/jinja_ast.h"
#include "template/jinja_value.h"

namespace moe::jinja {

struct RenderLimits {
    uint64_t max_steps = 1'000'000;         // expression and statement evaluations, loop items
    size_t max_output_bytes = 4u << 20;     // the rendered text
    size_t max_string_bytes = 4u << 20;     // any single string built on the way
    size_t max_list_items = 1u << 20;       // any single list built on the way
    uint64_t max_alloc_bytes = 256ull << 20;  // all strings and lists built during one render
    uint32_t max_call_depth = 48;           // nested macro calls
    uint32_t max_eval_depth = 400;          // nested evaluation frames (C++ stack)
};

// Python call arguments.
struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
};

// Binds Args to a Python signature: params in order, the first `required` of them mandatory.
// Throws template.runtime (TypeError) for surplus, unknown, duplicate or missing arguments.
std::vector<std::optional<Value>> bind_args(const Args& args, std::initializer_list<std::string_view> params,
                                            std::string_view function, size_t required = 0);

// A variable scope: the template root, a loop iteration, a macro call, a with/filter/set block.
struct Scope {
    Scope* parent = nullptr;
    uint64_t id = 0;
    std::vector<std::pair<std::string, Value>> vars;

    const Value* find_local(std::string_view name) const;
    void set(const std::string& name, Value v);
};

enum class Flow : uint8_t { Normal, Break, Continue };

class Renderer {
public:
    Renderer(const Template& tmpl, const RenderLimits& limits);
    ~Renderer();
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;

    // Renders the whole template; context holds the top-level variables (messages, bos_token...).
    std::string render(const std::vector<std::pair<std::string, Value>>& context);

    // ---- used by operators, filters and methods ----------------------------------------------
    const RenderLimits& limits() const { return limits_; }
    void step(uint64_t n = 1);
    Value make_str(std::string s);
    Value make_list(std::vector<Value> items, ListFlavor flavor = ListFlavor::List);
    void check_string_size(size_t bytes) const;
    std::string to_str(const Value& v);
    std::string to_repr(const Value& v);
    Namespace* new_namespace();

    Value getattr(const Value& obj, const std::string& name);
    Value getitem(const Value& obj, const Value& key);
    Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
    Value call(const Value& callee, Args args);
    // A method of str, dict, list or tuple ("a,b".split(","), d.get("k")...).
    Value call_method(const Value& self, const std::string& name, Args args);
    Value call_str_method(const std::string& s, const std::string& name, Args args);
    // str.replace and str.ljust/rjust/center ('l', 'r', 'c'), size-checked.
    std::string py_replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count);
    std::string py_justify(const std::string& s, int64_t width, const std::string& fill, char how);
    Value filter(const std::string& name, const Value& v, Args args);
    bool test(const std::string& name, const Value& v, Args args);
    // Python iter(): the items a for loop would see. Undefined iterates as empty.
    ListPtr iterate(const Value& v);
    Value binary(BinOp op, const Value& a, const Value& b);
    Value repeat(const Value& seq, int64_t times);
    bool compare(CmpOp op, const Value& a, const Value& b);
    bool contains(const Value& container, const Value& item);

private:
    const Template& tmpl_;
    RenderLimits limits_;
    WorkMeter meter_;  // the step counter, shared with deep value operations
    uint64_t allocated_ = 0;
    uint32_t eval_depth_ = 0;
    uint32_t call_depth_ = 0;
    uint64_t next_scope_id_ = 1;
    Pos pos_;  // position of the node being evaluated, for errors thrown below it
    std::vector<Scope*> live_scopes_;
    std::deque<Namespace> namespaces_;
    std::deque<Value> loop_memory_;  // loop.changed() state, see LoopState

    friend class ScopeFrame;
    friend class DepthGuard;

    // statements
    Flow exec_body(const Body& body, Scope& scope, std::string& out);
    Flow exec(const Stmt& s, Scope& scope, std::string& out);
    Flow exec_if(const Stmt& s, Scope& scope, std::string& out);
    void exec_for(const Stmt& s, Scope& scope, std::string& out);
    void exec_set_block(const Stmt& s, Scope& scope);
    void exec_call_block(const Stmt& s, Scope& scope, std::string& out);
    void exec_filter_block(const Stmt& s, Scope& scope, std::string& out);
    void exec_with(const Stmt& s, Scope& scope, std::string& out);
    void append_output(std::string& out, std::string_view text);
    void assign(const Expr& target, const Value& v, Scope& scope);

    // expressions
    Value eval(const Expr& e, Scope& scope);
    Value eval_inner(const Expr& e, Scope& scope);
    Value eval_operator(const Expr& e, Scope& scope);
    Value eval_getitem(const Expr& e, Scope& scope);
    Value eval_call(const Expr& e, Scope& scope);
    Value eval_filter_chain(const Expr& e, Scope& scope, const Value* innermost);
    Value eval_dict(const Expr& e, Scope& scope);
    Value eval_compare(const Expr& e, Scope& scope);
    Args eval_args(const Expr& e, Scope& scope);
    Value lookup(const std::string& name, const Scope& scope) const;
    Value unary(ExprKind kind, const Value& v);
    Value add(const Value& a, const Value& b);
    Value multiply(const Value& a, const Value& b);

    // calls
    Value call_global(const Callable& c, Args args);

    Value call_macro(const Callable& c, Args args);
    void bind_macro_args(const Callable& c, Args args, Scope& local);
    Value call_loop_method(const Callable& c, Args args);
    Value loop_attr(const Value& loop, const std::string& name);
    Value attr_of(const Value& obj, const std::string& name, bool allow_item_fallback);

    // filters
    Value filter_text(const std::string& name, const Value& v, Args& args, bool& handled);
    Value filter_number(const std::string& name, const Value& v, Args& args, bool& handled);
    Value filter_sequence(const std::string& name, const Value& v, Args& args, bool& handled);
    Value select_or_reject(const Value& v, Args& args, bool select, bool by_attr);
    Value map_filter(const Value& v, Args& args);
    Value join_filter(const Value& v, Args& args);
    Value sum_filter(const Value& v, Args& args);
    Value sort_filter(const Value& v, Args& args);
    Value unique_filter(const Value& v, Args& args);
    Value min_max_filter(const Value& v, Args& args, bool want_max);
    Value dictsort_filter(const Value& v, Args& args);
    Value attribute_path(const Value& item, const Value& attribute);
    Value sort_key(const Value& item, const Value& attribute, bool case_sensitive);
};

[[noreturn]] void fail_undefined(const Value& u);

// RAII: a scope registered with the renderer so macros can tell whether their closure is alive.
class ScopeFrame {
public:
    ScopeFrame(Renderer& r, Scope* parent);
    ~ScopeFrame();
    ScopeFrame(const ScopeFrame&) = delete;
    ScopeFrame& operator=(const ScopeFrame&) = delete;
    Scope& scope() { return scope_; }

private:
    Renderer& r_;
    Scope scope_;
};

}  // namespace moe::jinja
