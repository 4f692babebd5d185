// Python operators on template values: arithmetic, comparison, membership, indexing, slicing
// and iteration, with CPython's results and error conditions.
#include <cmath>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_format.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

[[noreturn]] void overflow() { fail_unsupported("integer result does not fit in 64 bits"); }

[[noreturn]] void unsupported_operands(const char* op, const Value& a, const Value& b) {
    fail_runtime(std::string("unsupported operand type(s) for ") + op + ": '" + py_type_name(a) + "' and '" +
                 py_type_name(b) + "'");
}

bool is_seq(const Value& v) {
    return v.is_list() && (v.as_list().flavor == ListFlavor::List || v.as_list().flavor == ListFlavor::Tuple);
}

int64_t floor_div(int64_t a, int64_t b) {
    if (b == 0) fail_runtime("integer division or modulo by zero");
    if (a == INT64_MIN && b == -1) overflow();
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

int64_t py_mod_int(int64_t a, int64_t b) {
    if (b == 0) fail_runtime("integer division or modulo by zero");
    if (b == -1) return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

// CPython float_divmod.
void float_divmod(double vx, double wx, double& floordiv, double& mod) {
    if (wx == 0.0) fail_runtime("float divmod()");
    mod = std::fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod != 0.0) {
        if ((wx < 0) != (mod < 0)) {
            mod += wx;
            div -= 1.0;
        }
    } else {
        mod = std::copysign(0.0, wx);
    }
    if (div != 0.0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = std::copysign(0.0, vx / wx);
    }
}

Value int_pow(int64_t base, int64_t exp) {
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1)
            if (__builtin_mul_overflow(result, base, &result)) overflow();
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) overflow();
    }
    return Value::integer(result);
}

Value float_pow(double a, double b) {
    if (a == 0.0 && b < 0) fail_runtime("0.0 cannot be raised to a negative power");
    if (a < 0 && std::floor(b) != b) fail_unsupported("complex results of ** (negative base, fractional exponent)");
    const double r = std::pow(a, b);
    if (std::isinf(r) && std::isfinite(a) && std::isfinite(b)) fail_runtime("(34, 'Numerical result out of range')");
    return Value::number(r);
}

}  // namespace

Value Renderer::add(const Value& a, const Value& b) {
    int64_t r = 0;
    if (a.is_integral() && b.is_integral()) {
        if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) overflow();
        return Value::integer(r);
    }
    if (a.is_number() && b.is_number()) return Value::number(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) {
        check_string_size(a.as_str().size() + b.as_str().size());
        return make_str(a.as_str() + b.as_str());
    }
    if (is_seq(a) && is_seq(b) && a.as_list().flavor == b.as_list().flavor) {
        std::vector<Value> items = a.as_list().items;
        items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
        return make_list(std::move(items), a.as_list().flavor);
    }
    if (a.is_string()) fail_runtime("can only concatenate str (not \"" + py_type_name(b) + "\") to str");
    if (is_seq(a) && a.as_list().flavor == ListFlavor::List)
        fail_runtime("can only concatenate list (not \"" + py_type_name(b) + "\") to list");
    unsupported_operands("+", a, b);
}

Value Renderer::multiply(const Value& a, const Value& b) {
    int64_t r = 0;
    if (a.is_integral() && b.is_integral()) {
        if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) overflow();
        return Value::integer(r);
    }
    if (a.is_number() && b.is_number()) return Value::number(a.as_float() * b.as_float());
    if ((a.is_string() || is_seq(a)) && b.is_integral()) return repeat(a, b.as_int());
    if (a.is_integral() && (b.is_string() || is_seq(b))) return repeat(b, a.as_int());
    if (a.is_string() || b.is_string() || is_seq(a) || is_seq(b))
        fail_runtime("can't multiply sequence by non-int of type '" + py_type_name(a.is_string() || is_seq(a) ? b : a) + "'");
    unsupported_operands("*", a, b);
}

Value Renderer::binary(BinOp op, const Value& a, const Value& b) {
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined() && !(op == BinOp::Mod && a.is_string())) fail_undefined(b);
    const bool ints = a.is_integral() && b.is_integral();
    const bool nums = a.is_number() && b.is_number();
    double q = 0, m = 0;
    switch (op) {
        case BinOp::Add:
            return add(a, b);
        case BinOp::Sub: {
            int64_t r = 0;
            if (ints && __builtin_sub_overflow(a.as_int(), b.as_int(), &r)) overflow();
            if (ints) return Value::integer(r);
            if (nums) return Value::number(a.as_float() - b.as_float());
            unsupported_operands("-", a, b);
        }
        case BinOp::Mul:
            return multiply(a, b);
        case BinOp::Div:
            if (!nums) unsupported_operands("/", a, b);
            if (b.as_float() == 0.0) fail_runtime("division by zero");
            if (ints) return Value::number(static_cast<double>(static_cast<long double>(a.as_int()) / b.as_int()));
            return Value::number(a.as_float() / b.as_float());
        case BinOp::FloorDiv:
            if (ints) return Value::integer(floor_div(a.as_int(), b.as_int()));
            if (!nums) unsupported_operands("//", a, b);
            if (b.as_float() == 0.0) fail_runtime("float floor division by zero");
            float_divmod(a.as_float(), b.as_float(), q, m);
            return Value::number(q);
        case BinOp::Mod:
            if (a.is_string()) return make_str(percent_format(*this, a.as_str(), b));
            if (ints) return Value::integer(py_mod_int(a.as_int(), b.as_int()));
            if (!nums) unsupported_operands("%", a, b);
            if (b.as_float() == 0.0) fail_runtime("float modulo");
            float_divmod(a.as_float(), b.as_float(), q, m);
            return Value::number(m);
        case BinOp::Pow:
            if (ints && b.as_int() >= 0) return int_pow(a.as_int(), b.as_int());
            if (nums) return float_pow(a.as_float(), b.as_float());
            unsupported_operands("** or pow()", a, b);
    }
    return Value();
}

Value Renderer::repeat(const Value& seq, int64_t times) {
    if (times <= 0) return seq.is_string() ? Value::string(std::string()) : make_list({}, seq.as_list().flavor);
    if (seq.is_string()) {
        const std::string& s = seq.as_str();
        if (!s.empty() && static_cast<uint64_t>(times) > limits_.max_string_bytes / s.size())
            check_string_size(limits_.max_string_bytes + 1);
        std::string out;
        out.reserve(s.size() * static_cast<size_t>(times));
        for (int64_t i = 0; i < times; ++i) out += s;
        return make_str(std::move(out));
    }
    const auto& items = seq.as_list().items;
    if (!items.empty() && static_cast<uint64_t>(times) > limits_.max_list_items / items.size())
        fail_limit("list repetition exceeds the list size limit");
    std::vector<Value> out;
    out.reserve(items.size() * static_cast<size_t>(times));
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
    return make_list(std::move(out), seq.as_list().flavor);
}

bool Renderer::compare(CmpOp op, const Value& a, const Value& b) {
    switch (op) {
        case CmpOp::Eq:
            return py_equal(a, b);
        case CmpOp::Ne:
            return !py_equal(a, b);
        case CmpOp::Lt:
            return py_less(a, b);
        case CmpOp::Gt:
            return py_less(b, a);
        case CmpOp::Le:
            return py_less(a, b) || py_equal(a, b);
        case CmpOp::Ge:
            return py_less(b, a) || py_equal(a, b);
        case CmpOp::In:
            return contains(b, a);
        case CmpOp::NotIn:
            return !contains(b, a);
    }
    return false;
}

bool Renderer::contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Kind::Undefined:
            return false;
        case Kind::String:
            if (!item.is_string())
                fail_runtime("'in <string>' requires string as left operand, not " + py_type_name(item));
            step(container.as_str().size() / 256);
            return container.as_str().find(item.as_str()) != std::string::npos;
        case Kind::List:
            step(container.as_list().items.size() / 16);
            for (const auto& x : container.as_list().items)
                if (py_equal(x, item)) return true;
            return false;
        case Kind::Dict:
            if (!py_hashable(item)) fail_runtime("unhashable type: '" + py_type_name(item) + "'");
            return container.as_dict().find(item) != nullptr;
        default:
            fail_runtime("argument of type '" + py_type_name(container) + "' is not iterable");
    }
}

ListPtr Renderer::iterate(const Value& v) {
    switch (v.kind()) {
        case Kind::Undefined:
            return make_list({}).list_ptr();
        case Kind::List:
            return v.list_ptr();
        case Kind::String: {
            std::vector<Value> chars;
            const std::string& s = v.as_str();
            size_t i = 0;
            while (i < s.size()) {
                const size_t start = i;
                utf8_next(s, i);
                chars.push_back(Value::string(s.substr(start, i - start)));
            }
            return make_list(std::move(chars)).list_ptr();
        }
        case Kind::Dict: {
            std::vector<Value> keys;
            for (const auto& [k, val] : v.as_dict().items) keys.push_back(k);
            return make_list(std::move(keys)).list_ptr();
        }
        default:
            fail_runtime("'" + py_type_name(v) + "' object is not iterable");
    }
}

// ---- indexing and slicing ------------------------------------------------------------------------

namespace {

// Python sequence index normalisation; false when out of range.
bool normalize_index(int64_t& i, size_t size) {
    const auto n = static_cast<int64_t>(size);
    if (i < 0) i += n;
    return i >= 0 && i < n;
}

std::string undefined_element(const Value& obj, const Value& key) {
    return py_type_name(obj) + " object has no element " + py_repr(key);
}

}  // namespace

Value Renderer::getitem(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail_undefined(obj);
    switch (obj.kind()) {
        case Kind::String:
            if (key.is_integral()) {
                step(obj.as_str().size() / 256);
                const std::u32string cps = utf8_decode(obj.as_str());
                int64_t i = key.as_int();
                if (normalize_index(i, cps.size())) return Value::string(utf8_encode(cps.substr(static_cast<size_t>(i), 1)));
                return Value::undefined(undefined_element(obj, key));
            }
            break;
        case Kind::List: {
            const ListData& l = obj.as_list();
            const bool indexable = l.flavor == ListFlavor::List || l.flavor == ListFlavor::Tuple;
            if (indexable && key.is_integral()) {
                int64_t i = key.as_int();
                if (normalize_index(i, l.items.size())) return l.items[static_cast<size_t>(i)];
                return Value::undefined(undefined_element(obj, key));
            }
            break;
        }
        case Kind::Dict:
            if (py_hashable(key))
                if (const Value* v = obj.as_dict().find(key)) return *v;
            break;
        default:
            break;
    }
    // jinja2 falls back to an attribute of the same name, then to Undefined.
    if (key.is_string()) return attr_of(obj, key.as_str(), false);
    return Value::undefined(undefined_element(obj, key));
}

namespace {

bool slice_index(const Value& v, int64_t& out) {
    if (v.is_none()) return false;
    out = v.as_int();
    return true;
}

}  // namespace

Value Renderer::slice(const Value& obj, const Value& start, const Value& stop, const Value& stride) {
    if (obj.is_undefined()) fail_undefined(obj);
    // jinja2 compiles slices to plain Python subscription, so errors are raised, not Undefined.
    const bool is_str = obj.is_string();
    if (obj.is_dict()) fail_runtime("unhashable type: 'slice'");
    if (!is_str && !is_seq(obj)) fail_runtime("'" + py_type_name(obj) + "' object is not subscriptable");
    for (const Value* v : {&start, &stop, &stride})
        if (!v->is_none() && !v->is_integral())
            fail_runtime("slice indices must be integers or None or have an __index__ method");
    std::u32string cps;
    if (is_str) {
        step(obj.as_str().size() / 256);
        cps = utf8_decode(obj.as_str());
    }
    const auto n = static_cast<int64_t>(is_str ? cps.size() : obj.as_list().items.size());
    int64_t step_v = 1;
    slice_index(stride, step_v);
    if (step_v == 0) fail_runtime("slice step cannot be zero");
    // CPython PySlice_AdjustIndices.
    int64_t lo, hi;
    const bool has_lo = slice_index(start, lo), has_hi = slice_index(stop, hi);
    if (!has_lo) lo = step_v < 0 ? n - 1 : 0;
    else {
        if (lo < 0) lo = std::max<int64_t>(lo + n, step_v < 0 ? -1 : 0);
        else if (lo >= n) lo = step_v < 0 ? n - 1 : n;
    }
    if (!has_hi) hi = step_v < 0 ? -1 : n;
    else {
        if (hi < 0) hi = std::max<int64_t>(hi + n, step_v < 0 ? -1 : 0);
        else if (hi >= n) hi = step_v < 0 ? n - 1 : n;
    }
    std::vector<int64_t> picks;
    for (int64_t i = lo; step_v > 0 ? i < hi : i > hi; i += step_v) picks.push_back(i);
    step(picks.size() / 16);
    if (is_str) {
        std::u32string out;
        for (int64_t i : picks) out.push_back(cps[static_cast<size_t>(i)]);
        return make_str(utf8_encode(out));
    }
    std::vector<Value> out;
    for (int64_t i : picks) out.push_back(obj.as_list().items[static_cast<size_t>(i)]);
    return make_list(std::move(out), obj.as_list().flavor);
}

}  // namespace moe::jinja
