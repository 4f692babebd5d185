#include "template/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "template/jinja_lexer.h"

namespace moe::jinja {

namespace {

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), s) != set.end();
}

class Parser {
public:
    Parser(std::vector<Token> tokens, const ParseLimits& limits) : toks_(std::move(tokens)), limits_(limits) {}

    Body parse_all() {
        Body body = subparse({});
        if (cur().type != Tok::Eof) syntax("unexpected " + describe(cur()));
        return body;
    }

private:
    std::vector<Token> toks_;
    size_t i_ = 0;
    ParseLimits limits_;
    uint32_t nesting_ = 0;
    uint32_t loop_depth_ = 0;
    std::vector<std::string> tag_stack_;

    // ---- token stream ------------------------------------------------------------------------

    const Token& cur() const { return toks_[i_]; }
    const Token& look() const { return toks_[std::min(i_ + 1, toks_.size() - 1)]; }
    const Token& advance() {
        const Token& t = toks_[i_];
        if (i_ + 1 < toks_.size()) ++i_;
        return t;
    }
    bool is_name(std::string_view v) const { return cur().type == Tok::Name && cur().text == v; }
    bool is_op(std::string_view op) const { return cur().type == Tok::Op && cur().text == op; }
    bool skip_name(std::string_view v) {
        if (!is_name(v)) return false;
        advance();
        return true;
    }
    bool skip_op(std::string_view op) {
        if (!is_op(op)) return false;
        advance();
        return true;
    }

    static std::string describe(const Token& t) {
        switch (t.type) {
            case Tok::Data: return "template data";
            case Tok::VarBegin: return "begin of print statement";
            case Tok::VarEnd: return "end of print statement";
            case Tok::BlockBegin: return "begin of statement block";
            case Tok::BlockEnd: return "end of statement block";
            case Tok::Name: return "'" + t.text + "'";
            case Tok::String: return "string";
            case Tok::Integer: return "integer";
            case Tok::Float: return "float";
            case Tok::Op: return "'" + t.text + "'";
            case Tok::Eof: return "end of template";
        }
        return "token";
    }

    [[noreturn]] void syntax(const std::string& msg) const { fail("template.syntax", msg, cur().pos); }
    [[noreturn]] void syntax_at(const std::string& msg, Pos p) const { fail("template.syntax", msg, p); }

    void expect(Tok type, const char* what) {
        if (cur().type != type) syntax(std::string("expected ") + what + ", got " + describe(cur()));
        advance();
    }
    void expect_op(std::string_view op) {
        if (!is_op(op)) syntax("expected '" + std::string(op) + "', got " + describe(cur()));
        advance();
    }
    void expect_name(std::string_view v) {
        if (!is_name(v)) syntax("expected '" + std::string(v) + "', got " + describe(cur()));
        advance();
    }
    std::string take_name() {
        if (cur().type != Tok::Name) syntax("expected name, got " + describe(cur()));
        return advance().text;
    }

    struct Nest {
        Parser& p;
        explicit Nest(Parser& parser) : p(parser) {
            if (++p.nesting_ > p.limits_.max_nesting) fail("template.limit", "template nests too deeply", p.cur().pos);
        }
        ~Nest() { --p.nesting_; }
        Nest(const Nest&) = delete;
        Nest& operator=(const Nest&) = delete;
    };

    // ---- node construction ----------------------------------------------------------------------

    static ExprPtr node(ExprKind k, Pos p) {
        auto e = std::make_unique<Expr>();
        e->kind = k;
        e->pos = p;
        return e;
    }

    // Records the tree height so evaluation recursion stays bounded, whatever the chain length.
    ExprPtr finish(ExprPtr e) const {
        uint32_t d = 0;
        for (const auto* child : {e->a.get(), e->b.get(), e->c.get()})
            if (child) d = std::max(d, child->depth);
        for (const auto& item : e->items)
            if (item) d = std::max(d, item->depth);
        for (const auto& kw : e->kwargs) d = std::max(d, kw.value->depth);
        e->depth = d + 1;
        if (e->depth > limits_.max_expr_depth) fail("template.limit", "expression nests too deeply", e->pos);
        return e;
    }

    static StmtPtr stmt(StmtKind k, Pos p) {
        auto s = std::make_unique<Stmt>();
        s->kind = k;
        s->pos = p;
        return s;
    }

    // ---- statements ---------------------------------------------------------------------------

    bool at_end_token(const std::vector<std::string_view>& end_tokens) const {
        if (cur().type != Tok::Name) return false;
        return std::find(end_tokens.begin(), end_tokens.end(), cur().text) != end_tokens.end();
    }

    Body subparse(const std::vector<std::string_view>& end_tokens) {
        Nest guard(*this);
        Body body;
        while (cur().type != Tok::Eof) {
            const Token& t = cur();
            if (t.type == Tok::Data) {
                auto s = stmt(StmtKind::Data, t.pos);
                s->text = t.text;
                body.push_back(std::move(s));
                advance();
            } else if (t.type == Tok::VarBegin) {
                auto s = stmt(StmtKind::Print, t.pos);
                advance();
                s->expr = parse_tuple(false, true, {}, false, false);
                expect(Tok::VarEnd, "end of print statement");
                body.push_back(std::move(s));
            } else if (t.type == Tok::BlockBegin) {
                advance();
                if (!end_tokens.empty() && at_end_token(end_tokens)) return body;
                parse_statement(body);
                expect(Tok::BlockEnd, "end of statement block");
            } else {
                syntax("unexpected " + describe(t));
            }
        }
        return body;
    }

    [[noreturn]] void fail_eof(const std::vector<std::string_view>& end_tokens) const {
        std::string msg = "Unexpected end of template.";
        if (!end_tokens.empty()) {
            msg += " Jinja was looking for the following tags: ";
            for (size_t k = 0; k < end_tokens.size(); ++k) msg += (k ? " or '" : "'") + std::string(end_tokens[k]) + "'";
            msg += ".";
        }
        if (!tag_stack_.empty()) msg += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
        syntax(msg);
    }

    Body parse_statements(const std::vector<std::string_view>& end_tokens, bool drop_needle) {
        skip_op(":");
        expect(Tok::BlockEnd, "end of statement block");
        Body body = subparse(end_tokens);
        if (cur().type == Tok::Eof) fail_eof(end_tokens);
        if (drop_needle) advance();
        return body;
    }

    void parse_statement(Body& out) {
        if (cur().type != Tok::Name) syntax("tag name expected");
        const std::string tag = cur().text;
        const Pos p = cur().pos;
        if (one_of(tag, {"block", "extends", "include", "from", "import", "autoescape"}))
            fail_unsupported("the '" + tag + "' tag", p);
        tag_stack_.push_back(tag);
        if (tag == "for") out.push_back(parse_for());
        else if (tag == "if") out.push_back(parse_if());
        else if (tag == "set") out.push_back(parse_set());
        else if (tag == "macro") out.push_back(parse_macro());
        else if (tag == "call") out.push_back(parse_call_block());
        else if (tag == "filter") out.push_back(parse_filter_block());
        else if (tag == "with") out.push_back(parse_with());
        else if (tag == "print") parse_print(out);
        else if (tag == "break" || tag == "continue") out.push_back(parse_loop_control(tag == "break"));
        else if (tag == "generation") out.push_back(parse_generation());
        else {
            tag_stack_.pop_back();
            syntax("Encountered unknown tag '" + tag + "'.");
        }
        tag_stack_.pop_back();
    }

    StmtPtr parse_loop_control(bool is_break) {
        auto s = stmt(is_break ? StmtKind::Break : StmtKind::Continue, cur().pos);
        if (loop_depth_ == 0) syntax(std::string("'") + (is_break ? "break" : "continue") + "' outside of a loop");
        advance();
        return s;
    }

    StmtPtr parse_generation() {
        auto s = stmt(StmtKind::Scope, advance().pos);
        s->body = parse_statements({"endgeneration"}, true);
        return s;
    }

    StmtPtr parse_for() {
        auto s = stmt(StmtKind::For, advance().pos);
        s->target = parse_assign_target(true, false, {"in"}, false);
        expect_name("in");
        s->expr = parse_tuple(false, false, {"recursive"}, false, false);
        if (skip_name("if")) s->cond = parse_expression(true);
        if (is_name("recursive")) fail_unsupported("recursive for loops", cur().pos);
        ++loop_depth_;
        s->body = parse_statements({"endfor", "else"}, false);
        --loop_depth_;
        if (advance().text == "else") s->else_body = parse_statements({"endfor"}, true);
        return s;
    }

    StmtPtr parse_if() {
        auto s = stmt(StmtKind::If, advance().pos);
        s->expr = parse_tuple(false, false, {}, false, false);
        s->body = parse_statements({"elif", "else", "endif"}, false);
        while (true) {
            const std::string which = advance().text;
            if (which == "elif") {
                ExprPtr test = parse_tuple(false, false, {}, false, false);
                Body body = parse_statements({"elif", "else", "endif"}, false);
                s->elifs.emplace_back(std::move(test), std::move(body));
                continue;
            }
            if (which == "else") s->else_body = parse_statements({"endif"}, true);
            break;
        }
        return s;
    }

    StmtPtr parse_set() {
        const Pos p = advance().pos;
        ExprPtr target = parse_assign_target(true, false, {}, true);
        if (skip_op("=")) {
            auto s = stmt(StmtKind::Set, p);
            s->target = std::move(target);
            s->expr = parse_tuple(false, true, {}, false, false);
            return s;
        }
        auto s = stmt(StmtKind::SetBlock, p);
        s->target = std::move(target);
        s->expr = parse_filter(nullptr, false);
        s->body = parse_statements({"endset"}, true);
        return s;
    }

    void parse_signature(Stmt& s) {
        expect_op("(");
        while (!is_op(")")) {
            if (!s.params.empty()) expect_op(",");
            s.params.push_back(take_name());
            if (skip_op("="))
                s.defaults.push_back(parse_expression(true));
            else if (!s.defaults.empty())
                syntax("non-default argument follows default argument");
        }
        expect_op(")");
    }

    // Macros cannot see the enclosing loop, so break/continue inside them is an error.
    Body parse_callable_body(const char* end_tag) {
        const uint32_t saved = loop_depth_;
        loop_depth_ = 0;
        Body body = parse_statements({end_tag}, true);
        loop_depth_ = saved;
        return body;
    }

    StmtPtr parse_macro() {
        auto s = stmt(StmtKind::Macro, advance().pos);
        s->name = take_name();
        parse_signature(*s);
        s->body = parse_callable_body("endmacro");
        scan_special_names(*s);
        return s;
    }

    StmtPtr parse_call_block() {
        auto s = stmt(StmtKind::CallBlock, advance().pos);
        if (is_op("(")) parse_signature(*s);
        s->expr = parse_expression(true);
        if (s->expr->kind != ExprKind::Call) syntax_at("expected call", s->pos);
        s->body = parse_callable_body("endcall");
        scan_special_names(*s);
        return s;
    }

    StmtPtr parse_filter_block() {
        auto s = stmt(StmtKind::FilterBlock, advance().pos);
        s->expr = parse_filter(nullptr, true);
        s->body = parse_statements({"endfilter"}, true);
        return s;
    }

    StmtPtr parse_with() {
        auto s = stmt(StmtKind::With, advance().pos);
        while (cur().type != Tok::BlockEnd) {
            if (!s->with_targets.empty()) expect_op(",");
            s->with_targets.push_back(parse_assign_target(true, false, {}, false));
            expect_op("=");
            s->with_values.push_back(parse_expression(true));
        }
        s->body = parse_statements({"endwith"}, true);
        return s;
    }

    void parse_print(Body& out) {
        advance();
        bool first = true;
        while (cur().type != Tok::BlockEnd) {
            if (!first) expect_op(",");
            first = false;
            auto s = stmt(StmtKind::Print, cur().pos);
            s->expr = parse_expression(true);
            out.push_back(std::move(s));
        }
    }

    // varargs/kwargs/caller make a macro accept extra arguments (jinja2 finds them the same way).
    static void scan_expr(const Expr* e, Stmt& m) {
        if (!e) return;
        if (e->kind == ExprKind::Name) {
            if (e->name == "varargs") m.uses_varargs = true;
            if (e->name == "kwargs") m.uses_kwargs = true;
            if (e->name == "caller") m.uses_caller = true;
        }
        scan_expr(e->a.get(), m);
        scan_expr(e->b.get(), m);
        scan_expr(e->c.get(), m);
        for (const auto& item : e->items) scan_expr(item.get(), m);
        for (const auto& kw : e->kwargs) scan_expr(kw.value.get(), m);
    }
    static void scan_body(const Body& body, Stmt& m) {
        for (const auto& s : body) {
            scan_expr(s->expr.get(), m);
            scan_expr(s->cond.get(), m);
            for (const auto& d : s->defaults) scan_expr(d.get(), m);
            for (const auto& v : s->with_values) scan_expr(v.get(), m);
            scan_body(s->body, m);
            scan_body(s->else_body, m);
            for (const auto& [test, b] : s->elifs) {
                scan_expr(test.get(), m);
                scan_body(b, m);
            }
        }
    }
    static void scan_special_names(Stmt& m) { scan_body(m.body, m); }

    // ---- assignment targets ----------------------------------------------------------------------

    static bool can_assign(const Expr& e) {
        if (e.kind == ExprKind::Name || e.kind == ExprKind::NSRef) return true;
        if (e.kind != ExprKind::Tuple) return false;
        return std::all_of(e.items.begin(), e.items.end(), [](const ExprPtr& x) { return can_assign(*x); });
    }

    ExprPtr parse_assign_target(bool with_tuple, bool name_only, const std::vector<std::string_view>& extra_end,
                                bool with_namespace) {
        ExprPtr target;
        if (name_only) {
            target = node(ExprKind::Name, cur().pos);
            target->name = take_name();
            return finish(std::move(target));
        }
        if (with_tuple)
            target = parse_tuple(true, true, extra_end, false, with_namespace);
        else
            target = parse_primary(with_namespace);
        if (!can_assign(*target)) syntax_at("can't assign to this expression", target->pos);
        return target;
    }

    // ---- expressions (precedence as in jinja2.parser) ---------------------------------------------

    ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

    ExprPtr parse_condexpr() {
        Nest guard(*this);
        Pos p = cur().pos;
        ExprPtr expr1 = parse_or();
        while (skip_name("if")) {
            auto e = node(ExprKind::CondExpr, p);
            e->a = parse_or();
            e->b = std::move(expr1);
            if (skip_name("else")) e->c = parse_condexpr();
            expr1 = finish(std::move(e));
            p = cur().pos;
        }
        return expr1;
    }

    ExprPtr parse_logical(ExprKind kind, const char* word, ExprPtr (Parser::*next)()) {
        Pos p = cur().pos;
        ExprPtr left = (this->*next)();
        while (skip_name(word)) {
            auto e = node(kind, p);
            e->a = std::move(left);
            e->b = (this->*next)();
            left = finish(std::move(e));
            p = cur().pos;
        }
        return left;
    }
    ExprPtr parse_or() { return parse_logical(ExprKind::Or, "or", &Parser::parse_and); }
    ExprPtr parse_and() { return parse_logical(ExprKind::And, "and", &Parser::parse_not); }

    ExprPtr parse_not() {
        if (is_name("not")) {
            Nest guard(*this);
            auto e = node(ExprKind::Not, advance().pos);
            e->a = parse_not();
            return finish(std::move(e));
        }
        return parse_compare();
    }

    bool compare_op(CmpOp& op) {
        if (cur().type == Tok::Op) {
            static const std::pair<std::string_view, CmpOp> kOps[] = {{"==", CmpOp::Eq}, {"!=", CmpOp::Ne},
                                                                     {"<", CmpOp::Lt},  {"<=", CmpOp::Le},
                                                                     {">", CmpOp::Gt},  {">=", CmpOp::Ge}};
            for (const auto& [spelling, value] : kOps)
                if (cur().text == spelling) {
                    advance();
                    op = value;
                    return true;
                }
            return false;
        }
        if (skip_name("in")) {
            op = CmpOp::In;
            return true;
        }
        if (is_name("not") && look().type == Tok::Name && look().text == "in") {
            advance();
            advance();
            op = CmpOp::NotIn;
            return true;
        }
        return false;
    }

    ExprPtr parse_compare() {
        const Pos p = cur().pos;
        ExprPtr expr = parse_math1();
        ExprPtr cmp;
        CmpOp op;
        while (compare_op(op)) {
            if (!cmp) {
                cmp = node(ExprKind::Compare, p);
                cmp->items.push_back(std::move(expr));
            }
            cmp->cmp.push_back(op);
            cmp->items.push_back(parse_math1());
        }
        return cmp ? finish(std::move(cmp)) : std::move(expr);
    }

    ExprPtr binary(BinOp op, Pos p, ExprPtr l, ExprPtr r) {
        auto e = node(ExprKind::Binary, p);
        e->op = op;
        e->a = std::move(l);
        e->b = std::move(r);
        return finish(std::move(e));
    }

    ExprPtr parse_math1() {
        Pos p = cur().pos;
        ExprPtr left = parse_concat();
        while (is_op("+") || is_op("-")) {
            const BinOp op = advance().text == "+" ? BinOp::Add : BinOp::Sub;
            left = binary(op, p, std::move(left), parse_concat());
            p = cur().pos;
        }
        return left;
    }

    ExprPtr parse_concat() {
        const Pos p = cur().pos;
        ExprPtr first = parse_math2();
        if (!is_op("~")) return first;
        auto e = node(ExprKind::Concat, p);
        e->items.push_back(std::move(first));
        while (skip_op("~")) e->items.push_back(parse_math2());
        return finish(std::move(e));
    }

    ExprPtr parse_math2() {
        Pos p = cur().pos;
        ExprPtr left = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const std::string t = advance().text;
            const BinOp op = t == "*" ? BinOp::Mul : t == "/" ? BinOp::Div : t == "//" ? BinOp::FloorDiv : BinOp::Mod;
            left = binary(op, p, std::move(left), parse_pow());
            p = cur().pos;
        }
        return left;
    }

    ExprPtr parse_pow() {
        Pos p = cur().pos;
        ExprPtr left = parse_unary(true);
        while (skip_op("**")) {
            left = binary(BinOp::Pow, p, std::move(left), parse_unary(true));
            p = cur().pos;
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        Nest guard(*this);
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            const bool neg = cur().text == "-";
            e = node(neg ? ExprKind::Neg : ExprKind::Plus, advance().pos);
            e->a = parse_unary(false);
            e = finish(std::move(e));
        } else {
            e = parse_primary(false);
        }
        e = parse_postfix(std::move(e));
        if (with_filter) e = parse_filter_expr(std::move(e));
        return e;
    }

    ExprPtr parse_primary(bool with_namespace) {
        const Token& t = cur();
        const Pos p = t.pos;
        if (t.type == Tok::Name) {
            const std::string name = advance().text;
            if (one_of(name, {"true", "false", "True", "False"})) {
                auto e = node(ExprKind::Const, p);
                e->constant = Value::boolean(name == "true" || name == "True");
                return e;
            }
            if (name == "none" || name == "None") {
                auto e = node(ExprKind::Const, p);
                e->constant = Value::none();
                return e;
            }
            if (with_namespace && is_op(".")) {
                advance();
                auto e = node(ExprKind::NSRef, p);
                e->name = name;
                e->attr = take_name();
                return e;
            }
            auto e = node(ExprKind::Name, p);
            e->name = name;
            return e;
        }
        if (t.type == Tok::String) {
            std::string s = advance().text;
            while (cur().type == Tok::String) s += advance().text;
            auto e = node(ExprKind::Const, p);
            e->constant = Value::string(std::move(s));
            return e;
        }
        if (t.type == Tok::Integer || t.type == Tok::Float) {
            auto e = node(ExprKind::Const, p);
            e->constant = t.type == Tok::Integer ? Value::integer(t.int_value) : Value::number(t.float_value);
            advance();
            return e;
        }
        if (t.type == Tok::Op && t.text == "(") {
            Nest guard(*this);
            advance();
            ExprPtr e = parse_tuple(false, true, {}, true, false);
            expect_op(")");
            return e;
        }
        if (t.type == Tok::Op && t.text == "[") return parse_list();
        if (t.type == Tok::Op && t.text == "{") return parse_dict();
        syntax("unexpected " + describe(t));
    }

    bool is_tuple_end(const std::vector<std::string_view>& extra_end) const {
        const Token& t = cur();
        if (t.type == Tok::VarEnd || t.type == Tok::BlockEnd || (t.type == Tok::Op && t.text == ")")) return true;
        return t.type == Tok::Name && std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end();
    }

    ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string_view>& extra_end,
                        bool explicit_parens, bool with_namespace) {
        Pos p = cur().pos;
        std::vector<ExprPtr> args;
        bool is_tuple = false;
        while (true) {
            if (!args.empty()) expect_op(",");
            if (is_tuple_end(extra_end)) break;
            args.push_back(simplified ? parse_primary(with_namespace) : parse_expression(with_condexpr));
            if (is_op(","))
                is_tuple = true;
            else
                break;
            p = cur().pos;
        }
        if (!is_tuple) {
            if (!args.empty()) return std::move(args[0]);
            if (!explicit_parens) syntax("Expected an expression, got " + describe(cur()));
        }
        auto e = node(ExprKind::Tuple, p);
        e->items = std::move(args);
        return finish(std::move(e));
    }

    ExprPtr parse_list() {
        Nest guard(*this);
        auto e = node(ExprKind::List, advance().pos);
        while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(parse_expression(true));
        }
        expect_op("]");
        return finish(std::move(e));
    }

    ExprPtr parse_dict() {
        Nest guard(*this);
        auto e = node(ExprKind::Dict, advance().pos);
        while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            e->items.push_back(parse_expression(true));
            expect_op(":");
            e->items.push_back(parse_expression(true));
        }
        expect_op("}");
        return finish(std::move(e));
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (true) {
            if (is_op(".") || is_op("["))
                e = parse_subscript(std::move(e));
            else if (is_op("("))
                e = parse_call(std::move(e));
            else
                return e;
        }
    }

    ExprPtr parse_filter_expr(ExprPtr e) {
        while (true) {
            if (is_op("|"))
                e = parse_filter(std::move(e), false);
            else if (is_name("is"))
                e = parse_test(std::move(e));
            else if (is_op("("))
                e = parse_call(std::move(e));
            else
                return e;
        }
    }

    ExprPtr parse_subscript(ExprPtr obj) {
        const Token& t = advance();
        const Pos p = t.pos;
        if (t.text == ".") {
            const Token& attr = cur();
            if (attr.type == Tok::Name) {
                auto e = node(ExprKind::Getattr, p);
                e->a = std::move(obj);
                e->name = advance().text;
                return finish(std::move(e));
            }
            if (attr.type != Tok::Integer) syntax("expected name or number");
            auto key = node(ExprKind::Const, attr.pos);
            key->constant = Value::integer(attr.int_value);
            advance();
            auto e = node(ExprKind::Getitem, p);
            e->a = std::move(obj);
            e->b = std::move(key);
            return finish(std::move(e));
        }
        Nest guard(*this);
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
            if (!args.empty()) expect_op(",");
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        auto e = node(ExprKind::Getitem, p);
        e->a = std::move(obj);
        if (args.size() == 1) {
            e->b = std::move(args[0]);
        } else {
            auto tup = node(ExprKind::Tuple, p);
            tup->items = std::move(args);
            e->b = finish(std::move(tup));
        }
        return finish(std::move(e));
    }

    ExprPtr parse_subscribed() {
        const Pos p = cur().pos;
        ExprPtr start;
        if (!skip_op(":")) {
            ExprPtr e = parse_expression(true);
            if (!is_op(":")) return e;
            advance();
            start = std::move(e);
        }
        auto slice = node(ExprKind::Slice, p);
        slice->a = std::move(start);
        if (!is_op(":") && !is_op("]") && !is_op(",")) slice->b = parse_expression(true);
        if (skip_op(":"))
            if (!is_op("]") && !is_op(",")) slice->c = parse_expression(true);
        return finish(std::move(slice));
    }

    void parse_call_args(Expr& e) {
        const Pos p = cur().pos;
        expect_op("(");
        bool require_comma = false;
        while (!is_op(")")) {
            if (require_comma) {
                expect_op(",");
                if (is_op(")")) break;
            }
            if (is_op("*") || is_op("**")) fail_unsupported("*args and **kwargs in calls", cur().pos);
            if (cur().type == Tok::Name && look().type == Tok::Op && look().text == "=") {
                Keyword kw;
                kw.name = advance().text;
                advance();
                kw.value = parse_expression(true);
                e.kwargs.push_back(std::move(kw));
            } else {
                if (!e.kwargs.empty()) syntax_at("invalid syntax for function call expression", p);
                e.items.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(")");
    }

    ExprPtr parse_call(ExprPtr callee) {
        Nest guard(*this);
        auto e = node(ExprKind::Call, cur().pos);
        e->a = std::move(callee);
        parse_call_args(*e);
        return finish(std::move(e));
    }

    std::string dotted_name() {
        std::string name = take_name();
        while (skip_op(".")) name += "." + take_name();
        return name;
    }

    ExprPtr parse_filter(ExprPtr operand, bool start_inline) {
        while (is_op("|") || start_inline) {
            if (!start_inline) advance();
            start_inline = false;
            const Pos p = cur().pos;
            auto e = node(ExprKind::Filter, p);
            e->name = dotted_name();
            e->a = std::move(operand);
            if (is_op("(")) {
                Nest guard(*this);
                parse_call_args(*e);
            }
            operand = finish(std::move(e));
        }
        return operand;
    }

    ExprPtr parse_test(ExprPtr operand) {
        const Pos p = advance().pos;
        const bool negated = skip_name("not");
        auto e = node(ExprKind::Test, p);
        e->name = dotted_name();
        e->a = std::move(operand);
        const Token& t = cur();
        if (is_op("(")) {
            Nest guard(*this);
            parse_call_args(*e);
        } else if ((t.type == Tok::Name || t.type == Tok::String || t.type == Tok::Integer || t.type == Tok::Float ||
                    (t.type == Tok::Op && (t.text == "(" || t.text == "[" || t.text == "{"))) &&
                   !(t.type == Tok::Name && one_of(t.text, {"else", "or", "and"}))) {
            if (is_name("is")) syntax("You cannot chain multiple tests with is");
            Nest guard(*this);
            e->items.push_back(parse_postfix(parse_primary(false)));
        }
        ExprPtr test = finish(std::move(e));
        if (!negated) return test;
        auto n = node(ExprKind::Not, p);
        n->a = std::move(test);
        return finish(std::move(n));
    }

    // jinja2 rejects unknown filters and tests at compile time, except inside an `if` (test and
    // branches) or an inline if-expression, where the error waits until the filter runs. Loops,
    // macros and blocks open a fresh frame and end that leniency.
    static void check_expr(const Expr* e, bool soft) {
        if (!e) return;
        if (e->kind == ExprKind::CondExpr) soft = true;
        if (!soft && (e->kind == ExprKind::Filter || e->kind == ExprKind::Test)) {
            const bool filter = e->kind == ExprKind::Filter;
            if ((filter ? filter_support(e->name) : test_support(e->name)) == Support::Unknown)
                fail("template.syntax", std::string("No ") + (filter ? "filter" : "test") + " named '" + e->name + "'.", e->pos);
        }
        check_expr(e->a.get(), soft);
        check_expr(e->b.get(), soft);
        check_expr(e->c.get(), soft);
        for (const auto& item : e->items) check_expr(item.get(), soft);
        for (const auto& kw : e->kwargs) check_expr(kw.value.get(), soft);
    }

public:
    static void check_names(const Body& body, bool soft) {
        for (const auto& s : body) {
            switch (s->kind) {
                case StmtKind::If:
                    check_expr(s->expr.get(), true);
                    check_names(s->body, true);
                    for (const auto& [test, b] : s->elifs) {
                        check_expr(test.get(), true);
                        check_names(b, true);
                    }
                    check_names(s->else_body, true);
                    break;
                case StmtKind::For:
                    check_expr(s->expr.get(), soft);
                    check_expr(s->cond.get(), false);
                    check_names(s->body, false);
                    check_names(s->else_body, false);
                    break;
                case StmtKind::Macro:
                case StmtKind::CallBlock:
                    for (const auto& d : s->defaults) check_expr(d.get(), false);
                    if (s->kind == StmtKind::CallBlock) check_expr(s->expr.get(), soft);
                    check_names(s->body, false);
                    break;
                case StmtKind::FilterBlock:
                case StmtKind::SetBlock:
                    check_expr(s->expr.get(), false);
                    check_names(s->body, false);
                    break;
                case StmtKind::With:
                    for (const auto& v : s->with_values) check_expr(v.get(), soft);
                    check_names(s->body, false);
                    break;
                default:
                    check_expr(s->expr.get(), soft);
                    check_names(s->body, soft);
            }
        }
    }
};

}  // namespace

Template parse_template(std::string_view source, std::string name, const ParseLimits& limits) {
    Parser parser(tokenize(source), limits);
    Template t;
    t.name = std::move(name);
    t.body = parser.parse_all();
    Parser::check_names(t.body, false);
    return t;
}

}  // namespace moe::jinja
