// Syntax tree of a parsed template. The shapes follow jinja2.nodes so that the evaluator can
// reproduce jinja2's behaviour node by node; one wide struct per category keeps the tree simple.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "template/jinja_error.h"
#include "template/jinja_value.h"

namespace moe::jinja {

enum class ExprKind : uint8_t {
    Const,     // constant
    Name,      // name
    Tuple,     // items
    List,      // items
    Dict,      // items = key, value, key, value...
    Getattr,   // a.name
    Getitem,   // a[b]
    Slice,     // a:b:c inside [], each may be null
    Call,      // a(items..., kwargs...)
    Filter,    // a|name(items..., kwargs...); a is null in {% filter %} and {% set x | f %}
    Test,      // a is name(items..., kwargs...)
    Neg,
    Plus,
    Not,
    Binary,    // a <op> b
    And,
    Or,
    Concat,    // items joined with ~
    Compare,   // items[0] <cmp[0]> items[1] <cmp[1]> items[2]...
    CondExpr,  // b if a else c (c may be null)
    NSRef,     // name.attr as an assignment target
};

enum class BinOp : uint8_t { Add, Sub, Mul, Div, FloorDiv, Mod, Pow };
enum class CmpOp : uint8_t { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Keyword {
    std::string name;
    ExprPtr value;
};

struct Expr {
    ExprKind kind = ExprKind::Const;
    Pos pos;
    uint32_t depth = 1;  // height of this subtree, bounded by the parser
    Value constant;
    std::string name;
    std::string attr;  // NSRef attribute
    std::vector<ExprPtr> items;
    std::vector<Keyword> kwargs;
    ExprPtr a, b, c;
    BinOp op = BinOp::Add;
    std::vector<CmpOp> cmp;
};

enum class StmtKind : uint8_t {
    Data,         // text
    Print,        // expr
    If,           // expr = test, body, elifs, else_body
    For,          // target in expr [if cond], body, else_body
    Set,          // target = expr
    SetBlock,     // target, optional filter expr, body
    Macro,        // name(params=defaults), body
    CallBlock,    // expr = call, params, body (the caller)
    FilterBlock,  // expr = filter chain with a null innermost operand, body
    With,         // with_targets = with_values, body
    Break,
    Continue,
    Scope,        // body (the {% generation %} tag of transformers)
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    StmtKind kind = StmtKind::Data;
    Pos pos;
    std::string text;
    ExprPtr expr;
    ExprPtr target;
    ExprPtr cond;
    Body body;
    Body else_body;
    std::vector<std::pair<ExprPtr, Body>> elifs;
    // Macro and CallBlock signature.
    std::string name;
    std::vector<std::string> params;
    std::vector<ExprPtr> defaults;  // for the last defaults.size() params
    bool uses_varargs = false;
    bool uses_kwargs = false;
    bool uses_caller = false;
    // With.
    std::vector<ExprPtr> with_targets;
    std::vector<ExprPtr> with_values;
};

struct Template {
    std::string name;
    Body body;
};

}  // namespace moe::jinja
