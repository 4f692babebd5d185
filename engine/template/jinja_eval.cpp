#include "template/jinja_eval.h"

#include <algorithm>

#include "template/jinja_error.h"

namespace moe::jinja {

// ---- helpers ------------------------------------------------------------------------------------

void fail_undefined(const Value& u) {
    const UndefinedInfo* info = u.undefined_info();
    if (info && info->security) fail("template.security", info->hint);
    fail("template.undefined", info ? info->hint : "value is undefined");
}

const Value* Scope::find_local(std::string_view name) const {
    for (const auto& [k, v] : vars)
        if (k == name) return &v;
    return nullptr;
}

void Scope::set(const std::string& name, Value v) {
    for (auto& [k, old] : vars)
        if (k == name) {
            old = std::move(v);
            return;
        }
    vars.emplace_back(name, std::move(v));
}

ScopeFrame::ScopeFrame(Renderer& r, Scope* parent) : r_(r) {
    scope_.parent = parent;
    scope_.id = r.next_scope_id_++;
    r.live_scopes_.push_back(&scope_);
}

ScopeFrame::~ScopeFrame() { r_.live_scopes_.pop_back(); }

// Bounds the C++ recursion of eval/exec whatever shape the template has.
class DepthGuard {
public:
    explicit DepthGuard(Renderer& r) : r_(r) {
        if (++r_.eval_depth_ > r_.limits_.max_eval_depth) fail_limit("template evaluation nests too deeply");
    }
    ~DepthGuard() { --r_.eval_depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

private:
    Renderer& r_;
};

std::vector<std::optional<Value>> bind_args(const Args& args, std::initializer_list<std::string_view> params,
                                            std::string_view function, size_t required) {
    std::vector<std::optional<Value>> out(params.size());
    if (args.pos.size() > params.size())
        fail_runtime(std::string(function) + "() takes at most " + std::to_string(params.size()) + " arguments (" +
                     std::to_string(args.pos.size()) + " given)");
    for (size_t i = 0; i < args.pos.size(); ++i) out[i] = args.pos[i];
    for (const auto& [name, value] : args.kw) {
        auto it = std::find(params.begin(), params.end(), name);
        if (it == params.end())
            fail_runtime(std::string(function) + "() got an unexpected keyword argument '" + name + "'");
        const size_t idx = static_cast<size_t>(it - params.begin());
        if (out[idx]) fail_runtime(std::string(function) + "() got multiple values for argument '" + name + "'");
        out[idx] = value;
    }
    for (size_t i = 0; i < required; ++i)
        if (!out[i])
            fail_runtime(std::string(function) + "() missing required argument '" + std::string(params.begin()[i]) + "'");
    return out;
}

// ---- renderer basics ------------------------------------------------------------------------------

Renderer::Renderer(const Template& tmpl, const RenderLimits& limits) : tmpl_(tmpl), limits_(limits) {
    meter_.max_steps = limits.max_steps;
}
Renderer::~Renderer() = default;

void Renderer::step(uint64_t n) {
    meter_.steps += n;
    if (meter_.steps > limits_.max_steps)
        fail_limit("template exceeded " + std::to_string(limits_.max_steps) + " evaluation steps");
}

void Renderer::check_string_size(size_t bytes) const {
    if (bytes > limits_.max_string_bytes)
        fail_limit("string of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                   std::to_string(limits_.max_string_bytes));
}

Value Renderer::make_str(std::string s) {
    check_string_size(s.size());
    allocated_ += s.size();
    if (allocated_ > limits_.max_alloc_bytes) fail_limit("template built more than the allowed total of strings and lists");
    step(s.size() / 256);
    return Value::string(std::move(s));
}

Value Renderer::make_list(std::vector<Value> items, ListFlavor flavor) {
    if (items.size() > limits_.max_list_items) fail_limit("list of " + std::to_string(items.size()) + " items exceeds the limit");
    allocated_ += items.size() * sizeof(Value);
    if (allocated_ > limits_.max_alloc_bytes) fail_limit("template built more than the allowed total of strings and lists");
    step(items.size() / 64);
    return Value::list(std::move(items), flavor);
}

std::string Renderer::to_str(const Value& v) {
    if (v.is_string()) return v.as_str();
    return py_str(v, limits_.max_string_bytes);
}

std::string Renderer::to_repr(const Value& v) { return py_repr(v, limits_.max_string_bytes); }

Namespace* Renderer::new_namespace() {
    step(1);
    return &namespaces_.emplace_back();
}

void Renderer::append_output(std::string& out, std::string_view text) {
    if (out.size() + text.size() > limits_.max_output_bytes)
        fail_limit("output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
    out.append(text);
}

std::string Renderer::render(const std::vector<std::pair<std::string, Value>>& context) {
    ScopedWorkMeter meter(&meter_);
    ScopeFrame root(*this, nullptr);
    for (const auto& [k, v] : context) root.scope().set(k, v);
    std::string out;
    try {
        exec_body(tmpl_.body, root.scope(), out);
    } catch (JinjaError& e) {
        e.set_pos_if_unknown(pos_);
        throw;
    }
    return out;
}

// ---- statements -----------------------------------------------------------------------------------

Flow Renderer::exec_body(const Body& body, Scope& scope, std::string& out) {
    for (const auto& s : body) {
        const Flow f = exec(*s, scope, out);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Flow Renderer::exec(const Stmt& s, Scope& scope, std::string& out) {
    DepthGuard guard(*this);
    step();
    pos_ = s.pos;
    switch (s.kind) {
        case StmtKind::Data:
            append_output(out, s.text);
            return Flow::Normal;
        case StmtKind::Print: {
            const Value v = eval(*s.expr, scope);
            if (v.is_string()) {
                append_output(out, v.as_str());
            } else {
                std::string text = to_str(v);
                append_output(out, text);
            }
            return Flow::Normal;
        }
        case StmtKind::If:
            return exec_if(s, scope, out);
        case StmtKind::For:
            exec_for(s, scope, out);
            return Flow::Normal;
        case StmtKind::Set:
            assign(*s.target, eval(*s.expr, scope), scope);
            return Flow::Normal;
        case StmtKind::SetBlock:
            exec_set_block(s, scope);
            return Flow::Normal;
        case StmtKind::Macro: {
            auto c = std::make_shared<Callable>();
            c->kind = CallableKind::Macro;
            c->name = s.name;
            c->node = &s;
            c->closure = &scope;
            c->closure_id = scope.id;
            scope.set(s.name, Value::callable(std::move(c)));
            return Flow::Normal;
        }
        case StmtKind::CallBlock:
            exec_call_block(s, scope, out);
            return Flow::Normal;
        case StmtKind::FilterBlock:
            exec_filter_block(s, scope, out);
            return Flow::Normal;
        case StmtKind::With:
            exec_with(s, scope, out);
            return Flow::Normal;
        case StmtKind::Break:
            return Flow::Break;
        case StmtKind::Continue:
            return Flow::Continue;
        case StmtKind::Scope:
            return exec_body(s.body, scope, out);
    }
    return Flow::Normal;
}

Flow Renderer::exec_if(const Stmt& s, Scope& scope, std::string& out) {
    if (truthy(eval(*s.expr, scope))) return exec_body(s.body, scope, out);
    for (const auto& [test, body] : s.elifs)
        if (truthy(eval(*test, scope))) return exec_body(body, scope, out);
    return exec_body(s.else_body, scope, out);
}

void Renderer::exec_for(const Stmt& s, Scope& scope, std::string& out) {
    ListPtr items = iterate(eval(*s.expr, scope));
    if (s.cond) {
        // `for x in y if cond`: the filter sees the loop target but not `loop`.
        std::vector<Value> kept;
        for (const auto& item : items->items) {
            step();
            ScopeFrame probe(*this, &scope);
            assign(*s.target, item, probe.scope());
            if (truthy(eval(*s.cond, probe.scope()))) kept.push_back(item);
        }
        items = make_list(std::move(kept)).list_ptr();
    }
    if (items->items.empty()) {
        ScopeFrame frame(*this, &scope);
        exec_body(s.else_body, frame.scope(), out);
        return;
    }
    auto state = std::make_shared<LoopState>();
    state->items = items;
    const Value loop = Value::loop(state);
    for (size_t i = 0; i < items->items.size(); ++i) {
        step();
        state->index0 = i;
        ScopeFrame frame(*this, &scope);
        assign(*s.target, items->items[i], frame.scope());
        frame.scope().set("loop", loop);
        if (exec_body(s.body, frame.scope(), out) == Flow::Break) break;
    }
}

void Renderer::exec_set_block(const Stmt& s, Scope& scope) {
    std::string body;
    {
        ScopeFrame frame(*this, &scope);
        exec_body(s.body, frame.scope(), body);
    }
    Value v = make_str(std::move(body));
    if (s.expr) v = eval_filter_chain(*s.expr, scope, &v);
    assign(*s.target, v, scope);
}

void Renderer::exec_call_block(const Stmt& s, Scope& scope, std::string& out) {
    auto caller = std::make_shared<Callable>();
    caller->kind = CallableKind::Caller;
    caller->name = "caller";
    caller->node = &s;
    caller->closure = &scope;
    caller->closure_id = scope.id;
    const Expr& call = *s.expr;
    Value callee = eval(*call.a, scope);
    Args args = eval_args(call, scope);
    args.kw.emplace_back("caller", Value::callable(std::move(caller)));
    pos_ = s.pos;
    const Value result = this->call(callee, std::move(args));
    append_output(out, to_str(result));
}

void Renderer::exec_filter_block(const Stmt& s, Scope& scope, std::string& out) {
    std::string body;
    {
        ScopeFrame frame(*this, &scope);
        exec_body(s.body, frame.scope(), body);
    }
    const Value inner = make_str(std::move(body));
    append_output(out, to_str(eval_filter_chain(*s.expr, scope, &inner)));
}

void Renderer::exec_with(const Stmt& s, Scope& scope, std::string& out) {
    std::vector<Value> values;
    for (const auto& v : s.with_values) values.push_back(eval(*v, scope));
    ScopeFrame frame(*this, &scope);
    for (size_t i = 0; i < values.size(); ++i) assign(*s.with_targets[i], values[i], frame.scope());
    exec_body(s.body, frame.scope(), out);
}

void Renderer::assign(const Expr& target, const Value& v, Scope& scope) {
    switch (target.kind) {
        case ExprKind::Name:
            scope.set(target.name, v);
            return;
        case ExprKind::NSRef: {
            const Value ns = lookup(target.name, scope);
            if (ns.kind() != Kind::Namespace) fail_runtime("cannot assign attribute on non-namespace object");
            ns.as_ns()->set(target.attr, v);
            return;
        }
        case ExprKind::Tuple: {
            const ListPtr items = iterate(v);
            const size_t want = target.items.size();
            if (items->items.size() < want)
                fail_runtime("not enough values to unpack (expected " + std::to_string(want) + ", got " +
                             std::to_string(items->items.size()) + ")");
            if (items->items.size() > want) fail_runtime("too many values to unpack (expected " + std::to_string(want) + ")");
            for (size_t i = 0; i < want; ++i) assign(*target.items[i], items->items[i], scope);
            return;
        }
        default:
            fail("template.syntax", "cannot assign to this expression", target.pos);
    }
}

// ---- expressions ------------------------------------------------------------------------------------

Value Renderer::lookup(const std::string& name, const Scope& scope) const {
    for (const Scope* s = &scope; s; s = s->parent)
        if (const Value* v = s->find_local(name)) return *v;
    static const char* const kGlobals[] = {"range",   "namespace", "dict",   "raise_exception",
                                           "strftime_now", "lipsum", "cycler", "joiner"};
    for (const char* g : kGlobals)
        if (name == g) {
            auto c = std::make_shared<Callable>();
            c->kind = CallableKind::Global;
            c->name = name;
            return Value::callable(std::move(c));
        }
    return Value::undefined("'" + name + "' is undefined");
}

Value Renderer::eval(const Expr& e, Scope& scope) {
    DepthGuard guard(*this);
    step();
    return eval_inner(e, scope);
}

Value Renderer::eval_inner(const Expr& e, Scope& scope) {
    switch (e.kind) {
        case ExprKind::Const:
            return e.constant;
        case ExprKind::Name:
            return lookup(e.name, scope);
        case ExprKind::Tuple:
        case ExprKind::List: {
            std::vector<Value> items;
            items.reserve(e.items.size());
            for (const auto& item : e.items) items.push_back(eval(*item, scope));
            return make_list(std::move(items), e.kind == ExprKind::Tuple ? ListFlavor::Tuple : ListFlavor::List);
        }
        case ExprKind::Dict:
            return eval_dict(e, scope);
        case ExprKind::Getattr: {
            const Value obj = eval(*e.a, scope);
            pos_ = e.pos;
            return getattr(obj, e.name);
        }
        case ExprKind::Getitem:
            return eval_getitem(e, scope);
        case ExprKind::Slice:
            fail_unsupported("slices inside a tuple subscript", e.pos);
        case ExprKind::Call:
            return eval_call(e, scope);
        case ExprKind::Filter:
            return eval_filter_chain(e, scope, nullptr);
        case ExprKind::Test: {
            const Value v = eval(*e.a, scope);
            Args args = eval_args(e, scope);
            pos_ = e.pos;
            return Value::boolean(test(e.name, v, std::move(args)));
        }
        case ExprKind::Neg:
        case ExprKind::Plus:
        case ExprKind::Not: {
            const Value v = eval(*e.a, scope);
            pos_ = e.pos;
            return unary(e.kind, v);
        }
        default:
            return eval_operator(e, scope);
    }
}

Value Renderer::eval_operator(const Expr& e, Scope& scope) {
    switch (e.kind) {
        case ExprKind::Binary: {
            const Value a = eval(*e.a, scope);
            const Value b = eval(*e.b, scope);
            pos_ = e.pos;
            return binary(e.op, a, b);
        }
        case ExprKind::And: {
            Value a = eval(*e.a, scope);
            return truthy(a) ? eval(*e.b, scope) : a;
        }
        case ExprKind::Or: {
            Value a = eval(*e.a, scope);
            return truthy(a) ? a : eval(*e.b, scope);
        }
        case ExprKind::Concat: {
            std::string s;
            for (const auto& item : e.items) py_str_append(s, eval(*item, scope), limits_.max_string_bytes);
            return make_str(std::move(s));
        }
        case ExprKind::Compare:
            return eval_compare(e, scope);
        case ExprKind::CondExpr:
            if (truthy(eval(*e.a, scope))) return eval(*e.b, scope);
            if (e.c) return eval(*e.c, scope);
            return Value::undefined("the inline if-expression on line " + std::to_string(e.pos.line) +
                                    " evaluated to false and no else section was defined.");
        default:
            fail("template.syntax", "namespace reference outside an assignment", e.pos);
    }
}

Value Renderer::eval_getitem(const Expr& e, Scope& scope) {
    const Value obj = eval(*e.a, scope);
    if (e.b->kind == ExprKind::Slice) {
        const Expr& sl = *e.b;
        const Value start = sl.a ? eval(*sl.a, scope) : Value::none();
        const Value stop = sl.b ? eval(*sl.b, scope) : Value::none();
        const Value stride = sl.c ? eval(*sl.c, scope) : Value::none();
        pos_ = e.pos;
        return slice(obj, start, stop, stride);
    }
    const Value key = eval(*e.b, scope);
    pos_ = e.pos;
    return getitem(obj, key);
}

Value Renderer::eval_dict(const Expr& e, Scope& scope) {
    auto d = std::make_shared<DictData>();
    for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        Value v = eval(*e.items[i + 1], scope);
        pos_ = e.items[i]->pos;
        d->set(std::move(k), std::move(v));
    }
    allocated_ += d->items.size() * 2 * sizeof(Value);
    return Value::dict(std::move(d));
}

Value Renderer::eval_compare(const Expr& e, Scope& scope) {
    Value left = eval(*e.items[0], scope);
    for (size_t i = 0; i < e.cmp.size(); ++i) {
        Value right = eval(*e.items[i + 1], scope);
        pos_ = e.pos;
        if (!compare(e.cmp[i], left, right)) return Value::boolean(false);
        left = std::move(right);
    }
    return Value::boolean(true);
}

Args Renderer::eval_args(const Expr& e, Scope& scope) {
    Args args;
    for (const auto& item : e.items) args.pos.push_back(eval(*item, scope));
    for (const auto& kw : e.kwargs) args.kw.emplace_back(kw.name, eval(*kw.value, scope));
    return args;
}

Value Renderer::eval_call(const Expr& e, Scope& scope) {
    const Value callee = eval(*e.a, scope);
    Args args = eval_args(e, scope);
    pos_ = e.pos;
    return call(callee, std::move(args));
}

// Filters apply inside out; the innermost operand is an expression or the body of a block.
Value Renderer::eval_filter_chain(const Expr& e, Scope& scope, const Value* innermost) {
    Value operand;
    if (e.a)
        operand = e.a->kind == ExprKind::Filter ? eval_filter_chain(*e.a, scope, innermost) : eval(*e.a, scope);
    else if (innermost)
        operand = *innermost;
    step();
    Args args = eval_args(e, scope);
    pos_ = e.pos;
    return filter(e.name, operand, std::move(args));
}

Value Renderer::unary(ExprKind kind, const Value& v) {
    if (kind == ExprKind::Not) return Value::boolean(!truthy(v));
    if (v.is_undefined()) fail_undefined(v);
    if (kind == ExprKind::Plus) {
        if (v.is_integral()) return Value::integer(v.as_int());
        if (v.kind() == Kind::Float) return v;
        fail_runtime("bad operand type for unary +: '" + py_type_name(v) + "'");
    }
    if (v.is_integral()) {
        if (v.as_int() == INT64_MIN) fail_unsupported("integer result does not fit in 64 bits");
        return Value::integer(-v.as_int());
    }
    if (v.kind() == Kind::Float) return Value::number(-v.as_float());
    fail_runtime("bad operand type for unary -: '" + py_type_name(v) + "'");
}

// ---- calls --------------------------------------------------------------------------------------------

Value Renderer::call(const Value& callee, Args args) {
    if (callee.is_undefined()) fail_undefined(callee);
    if (callee.kind() == Kind::Loop) fail_unsupported("calling loop() (recursive loops)");
    if (callee.kind() != Kind::Callable) fail_runtime("'" + py_type_name(callee) + "' object is not callable");
    const Callable& c = callee.as_callable();
    switch (c.kind) {
        case CallableKind::Global:
            return call_global(c, std::move(args));
        case CallableKind::Method:
            return call_method(c.self, c.name, std::move(args));
        case CallableKind::Macro:
        case CallableKind::Caller:
            return call_macro(c, std::move(args));
        case CallableKind::LoopCycle:
        case CallableKind::LoopChanged:
            return call_loop_method(c, std::move(args));
    }
    return Value();
}

Value Renderer::call_macro(const Callable& c, Args args) {
    const bool alive = std::any_of(live_scopes_.begin(), live_scopes_.end(),
                                   [&](const Scope* s) { return s == c.closure && s->id == c.closure_id; });
    if (!alive) fail_unsupported("calling macro '" + c.name + "' outside the scope that defined it");
    if (++call_depth_ > limits_.max_call_depth) {
        --call_depth_;
        fail_limit("macro calls nest deeper than " + std::to_string(limits_.max_call_depth));
    }
    struct Unwind {
        uint32_t& d;
        ~Unwind() { --d; }
    } unwind{call_depth_};

    ScopeFrame frame(*this, c.closure);
    bind_macro_args(c, std::move(args), frame.scope());
    std::string out;
    exec_body(c.node->body, frame.scope(), out);
    return make_str(std::move(out));
}

// jinja2.runtime.Macro.__call__: positional, then keyword, then defaults (evaluated in the macro's
// scope, so they may use earlier parameters); extra arguments only when the body mentions
// varargs/kwargs; `caller` only when it mentions caller.
void Renderer::bind_macro_args(const Callable& c, Args args, Scope& local) {
    const Stmt& m = *c.node;
    const size_t n = m.params.size();
    const size_t first_default = n - m.defaults.size();
    auto take_kw = [&](const std::string& name) -> std::optional<Value> {
        for (auto it = args.kw.begin(); it != args.kw.end(); ++it)
            if (it->first == name) {
                Value v = std::move(it->second);
                args.kw.erase(it);
                return v;
            }
        return std::nullopt;
    };
    for (size_t i = 0; i < n; ++i) {
        std::optional<Value> v;
        if (i < args.pos.size()) v = args.pos[i];
        else if (args.pos.size() < n) v = take_kw(m.params[i]);
        if (!v && i >= first_default) v = eval(*m.defaults[i - first_default], local);
        if (!v) v = Value::undefined("parameter '" + m.params[i] + "' was not provided");
        local.set(m.params[i], *v);
    }
    if (c.kind == CallableKind::Macro && m.uses_caller) {
        std::optional<Value> caller = take_kw("caller");
        local.set("caller", caller ? *caller : Value::undefined("No caller defined"));
    }
    if (m.uses_kwargs) {
        auto d = std::make_shared<DictData>();
        for (auto& [k, v] : args.kw) d->set(Value::string(k), v);
        local.set("kwargs", Value::dict(std::move(d)));
    } else if (!args.kw.empty()) {
        fail_runtime("macro '" + c.name + "' takes no keyword argument '" + args.kw.front().first + "'");
    }
    if (m.uses_varargs) {
        std::vector<Value> rest(args.pos.begin() + static_cast<std::ptrdiff_t>(std::min(n, args.pos.size())), args.pos.end());
        local.set("varargs", make_list(std::move(rest), ListFlavor::Tuple));
    } else if (args.pos.size() > n) {
        fail_runtime("macro '" + c.name + "' takes not more than " + std::to_string(n) + " argument(s)");
    }
}

}  // namespace moe::jinja
