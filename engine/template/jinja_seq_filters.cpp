// Filters over sequences and mappings: first/last/join/map/select/sort/unique/...
// Several return Python generators in jinja2 (map, select, reverse, items, unique); they keep the
// Generator flavor here so that `|length` fails and truthiness is always true, as in jinja2.
#include <algorithm>

#include "template/jinja_error.h"
#include "template/jinja_eval.h"
#include "template/jinja_parser.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

Value lowercase_if_string(const Value& v) { return v.is_string() ? Value::string(py_lower(v.as_str())) : v; }

std::vector<Value> attribute_parts(const Value& attribute) {
    std::vector<Value> parts;
    if (attribute.is_none() || attribute.is_undefined()) return parts;
    if (!attribute.is_string()) {
        parts.push_back(attribute);
        return parts;
    }
    const std::string& s = attribute.as_str();
    size_t start = 0;
    while (true) {
        const size_t dot = s.find('.', start);
        const std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        parts.push_back(digits && part.size() < 18 ? Value::integer(std::stoll(part)) : Value::string(part));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return parts;
}

}  // namespace

// jinja2 make_attrgetter: dotted path, integer parts as indices, each step through getitem.
Value Renderer::attribute_path(const Value& item, const Value& attribute) {
    Value cur = item;
    for (const auto& part : attribute_parts(attribute)) cur = getitem(cur, part);
    return cur;
}

// jinja2 make_multi_attrgetter with ignore_case: a list of keys compared lexicographically.
Value Renderer::sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
    std::vector<Value> keys;
    if (attribute.is_string() && attribute.as_str().find(',') != std::string::npos) {
        const std::string& s = attribute.as_str();
        size_t start = 0;
        while (true) {
            const size_t comma = s.find(',', start);
            const Value k = attribute_path(item, Value::string(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
            keys.push_back(case_sensitive ? k : lowercase_if_string(k));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    } else {
        const Value k = attribute_path(item, attribute);
        keys.push_back(case_sensitive ? k : lowercase_if_string(k));
    }
    return Value::list(std::move(keys));
}

namespace {

// first, last, list, reverse and items: views of an iterable; reverse and items are generators.
Value filter_pick(Renderer& r, const std::string& name, const Value& v, const Args& args) {
    bind_args(args, {}, name);
    if (name == "items") {
        if (v.is_undefined()) return r.make_list({}, ListFlavor::Generator);
        if (!v.is_dict()) fail_runtime("Can only get item pairs from a mapping.");
        std::vector<Value> pairs;
        for (const auto& [k, val] : v.as_dict().items) pairs.push_back(r.make_list({k, val}, ListFlavor::Tuple));
        return r.make_list(std::move(pairs), ListFlavor::Generator);
    }
    if (name == "reverse" && v.is_string()) {
        std::u32string cps = utf8_decode(v.as_str());
        std::reverse(cps.begin(), cps.end());
        return r.make_str(utf8_encode(cps));
    }
    if (name == "last" && v.is_list() && v.as_list().flavor == ListFlavor::Generator)
        fail_runtime("'generator' object is not reversible");
    const ListPtr items = r.iterate(v);
    if (name == "list") return r.make_list(items->items);
    if (name == "first") return items->items.empty() ? Value::undefined("No first item, sequence was empty.") : items->items.front();
    if (name == "last") return items->items.empty() ? Value::undefined("No last item, sequence was empty.") : items->items.back();
    return r.make_list(std::vector<Value>(items->items.rbegin(), items->items.rend()), ListFlavor::Generator);
}

}  // namespace

Value Renderer::filter_sequence(const std::string& name, const Value& v, Args& args, bool& handled) {
    if (name == "default" || name == "d") {
        const auto a = bind_args(args, {"default_value", "boolean"}, name);
        const bool boolean = a[1] && truthy(*a[1]);
        if (v.is_undefined() || (boolean && !truthy(v))) return a[0] ? *a[0] : Value::string(std::string());
        return v;
    }
    if (name == "first" || name == "last" || name == "list" || name == "reverse" || name == "items")
        return filter_pick(*this, name, v, args);
    if (name == "join") return join_filter(v, args);
    if (name == "map") return map_filter(v, args);
    if (name == "select" || name == "reject") return select_or_reject(v, args, name == "select", false);
    if (name == "selectattr" || name == "rejectattr") return select_or_reject(v, args, name == "selectattr", true);
    if (name == "sort") return sort_filter(v, args);
    if (name == "unique") return unique_filter(v, args);
    if (name == "min" || name == "max") return min_max_filter(v, args, name == "max");
    if (name == "dictsort") return dictsort_filter(v, args);
    if (name == "sum") return sum_filter(v, args);
    if (name == "attr") {
        const auto a = bind_args(args, {"name"}, name, 1);
        if (!a[0]->is_string()) fail_runtime("attribute name must be a string");
        return attr_of(v, a[0]->as_str(), false);
    }
    handled = false;
    return Value();
}

Value Renderer::join_filter(const Value& v, Args& args) {
    const auto a = bind_args(args, {"d", "attribute"}, "join");
    const std::string sep = a[0] ? to_str(*a[0]) : std::string();
    const ListPtr items = iterate(v);
    std::string out;
    for (size_t i = 0; i < items->items.size(); ++i) {
        if (i) out += sep;
        const Value item = a[1] && !a[1]->is_none() ? attribute_path(items->items[i], *a[1]) : items->items[i];
        py_str_append(out, item, limits_.max_string_bytes);
        check_string_size(out.size());
    }
    return make_str(std::move(out));
}

// Python sum(iterable, start) over optional attributes; strings are refused as Python does.
Value Renderer::sum_filter(const Value& v, Args& args) {
    const auto a = bind_args(args, {"attribute", "start"}, "sum");
    Value total = a[1] ? *a[1] : Value::integer(0);
    if (total.is_string()) fail_runtime("sum() can't sum strings [use ''.join(seq) instead]");
    const ListPtr seq = iterate(v);
    for (const auto& item : seq->items) {
        step();
        total = binary(BinOp::Add, total, a[0] && !a[0]->is_none() ? attribute_path(item, *a[0]) : item);
    }
    return total;
}

Value Renderer::map_filter(const Value& v, Args& args) {
    const ListPtr items = iterate(v);
    std::vector<Value> out;
    if (args.pos.empty() && std::any_of(args.kw.begin(), args.kw.end(), [](auto& kw) { return kw.first == "attribute"; })) {
        const auto a = bind_args(args, {"attribute", "default"}, "map");
        for (const auto& item : items->items) {
            step();
            Value x = attribute_path(item, *a[0]);
            if (a[1] && !a[1]->is_none() && x.is_undefined()) x = *a[1];
            out.push_back(std::move(x));
        }
        return make_list(std::move(out), ListFlavor::Generator);
    }
    if (args.pos.empty()) fail_runtime("map requires a filter argument");
    if (!args.pos[0].is_string()) fail_runtime("map filter name must be a string");
    const std::string filter_name = args.pos[0].as_str();
    Args rest;
    rest.pos.assign(args.pos.begin() + 1, args.pos.end());
    rest.kw = args.kw;
    for (const auto& item : items->items) {
        step();
        out.push_back(filter(filter_name, item, rest));
    }
    return make_list(std::move(out), ListFlavor::Generator);
}

Value Renderer::select_or_reject(const Value& v, Args& args, bool select, bool by_attr) {
    std::vector<Value> out;
    if (!truthy(v)) return make_list(std::move(out), ListFlavor::Generator);
    size_t off = 0;
    Value attribute;
    if (by_attr) {
        if (args.pos.empty()) fail_runtime("Missing parameter for attribute name");
        attribute = args.pos[0];
        off = 1;
    }
    std::optional<std::string> test_name;
    Args rest;
    if (args.pos.size() > off) {
        if (!args.pos[off].is_string()) fail_runtime("test name must be a string");
        test_name = args.pos[off].as_str();
        rest.pos.assign(args.pos.begin() + static_cast<std::ptrdiff_t>(off + 1), args.pos.end());
    }
    rest.kw = args.kw;
    const ListPtr seq = iterate(v);
    for (const auto& item : seq->items) {
        step();
        const Value subject = by_attr ? attribute_path(item, attribute) : item;
        const bool ok = test_name ? test(*test_name, subject, rest) : truthy(subject);
        if (ok == select) out.push_back(item);
    }
    return make_list(std::move(out), ListFlavor::Generator);
}

Value Renderer::sort_filter(const Value& v, Args& args) {
    const auto a = bind_args(args, {"reverse", "case_sensitive", "attribute"}, "sort");
    const bool reverse = a[0] && truthy(*a[0]);
    const bool case_sensitive = a[1] && truthy(*a[1]);
    const Value attribute = a[2] ? *a[2] : Value::none();
    const ListPtr items = iterate(v);
    std::vector<std::pair<Value, Value>> keyed;
    for (const auto& item : items->items) keyed.emplace_back(sort_key(item, attribute, case_sensitive), item);
    step(keyed.size() * 4);
    // stable_sort never reads out of bounds, even when a comparison is inconsistent (NaN).
    std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& x, const auto& y) {
        return reverse ? py_less(y.first, x.first) : py_less(x.first, y.first);
    });
    std::vector<Value> out;
    for (auto& [k, item] : keyed) out.push_back(std::move(item));
    return make_list(std::move(out));
}

Value Renderer::unique_filter(const Value& v, Args& args) {
    const auto a = bind_args(args, {"case_sensitive", "attribute"}, "unique");
    const bool case_sensitive = a[0] && truthy(*a[0]);
    const Value attribute = a[1] ? *a[1] : Value::none();
    std::vector<Value> seen, out;
    const ListPtr seq = iterate(v);
    for (const auto& item : seq->items) {
        Value key = attribute_path(item, attribute);
        if (!case_sensitive) key = lowercase_if_string(key);
        if (!py_hashable(key)) fail_runtime("unhashable type: '" + py_type_name(key) + "'");
        step(seen.size() / 16 + 1);
        if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, key); })) {
            seen.push_back(key);
            out.push_back(item);
        }
    }
    return make_list(std::move(out), ListFlavor::Generator);
}

Value Renderer::min_max_filter(const Value& v, Args& args, bool want_max) {
    const auto a = bind_args(args, {"case_sensitive", "attribute"}, want_max ? "max" : "min");
    const bool case_sensitive = a[0] && truthy(*a[0]);
    const Value attribute = a[1] ? *a[1] : Value::none();
    const ListPtr items = iterate(v);
    if (items->items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    size_t best = 0;
    Value best_key;
    for (size_t i = 0; i < items->items.size(); ++i) {
        step();
        Value key = attribute_path(items->items[i], attribute);
        if (!case_sensitive) key = lowercase_if_string(key);
        if (i == 0 || (want_max ? py_less(best_key, key) : py_less(key, best_key))) {
            best = i;
            best_key = std::move(key);
        }
    }
    return items->items[best];
}

Value Renderer::dictsort_filter(const Value& v, Args& args) {
    const auto a = bind_args(args, {"case_sensitive", "by", "reverse"}, "dictsort");
    const bool case_sensitive = a[0] && truthy(*a[0]);
    const std::string by = a[1] ? to_str(*a[1]) : "key";
    if (by != "key" && by != "value") fail_runtime("You can only sort by either \"key\" or \"value\"");
    const bool reverse = a[2] && truthy(*a[2]);
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_dict()) fail_runtime("'" + py_type_name(v) + "' object has no attribute 'items'");
    std::vector<std::pair<Value, Value>> keyed;
    for (const auto& [k, val] : v.as_dict().items) {
        Value key = by == "key" ? k : val;
        if (!case_sensitive) key = lowercase_if_string(key);
        keyed.emplace_back(std::move(key), make_list({k, val}, ListFlavor::Tuple));
    }
    std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& x, const auto& y) {
        return reverse ? py_less(y.first, x.first) : py_less(x.first, y.first);
    });
    std::vector<Value> out;
    for (auto& [k, pair] : keyed) out.push_back(std::move(pair));
    return make_list(std::move(out));
}

}  // namespace moe::jinja
