#include "template/jinja_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "template/jinja_error.h"
#include "template/jinja_unicode.h"

namespace moe::jinja {

namespace {

class Dumper {
public:
    explicit Dumper(const JsonDumpOptions& o) : o_(o) {}

    std::string run(const Value& v) {
        write(v, 0);
        return std::move(out_);
    }

private:
    const JsonDumpOptions& o_;
    std::string out_;

    void check() const {
        if (out_.size() > o_.max_bytes) fail_limit("tojson output too large");
    }

    void newline(int level) {
        if (!o_.indent) return;
        out_ += '\n';
        for (int i = 0; i < level; ++i) out_ += *o_.indent;
    }

    void write_string(std::string_view s) {
        out_ += '"';
        size_t i = 0;
        char buf[16];
        while (i < s.size()) {
            const char32_t c = utf8_next(s, i);
            switch (c) {
                case '"': out_ += "\\\""; continue;
                case '\\': out_ += "\\\\"; continue;
                case '\n': out_ += "\\n"; continue;
                case '\r': out_ += "\\r"; continue;
                case '\t': out_ += "\\t"; continue;
                case '\b': out_ += "\\b"; continue;
                case '\f': out_ += "\\f"; continue;
                default: break;
            }
            if (c < 0x20 || (o_.ensure_ascii && c >= 0x7F)) {
                if (c > 0xFFFF) {
                    const char32_t v = c - 0x10000;
                    std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 | (v >> 10)),
                                  static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
                } else {
                    std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
                }
                out_ += buf;
            } else {
                utf8_append(out_, c);
            }
        }
        out_ += '"';
    }

    static std::string float_text(double d) {
        if (std::isnan(d)) return "NaN";
        if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
        return py_float_repr(d);
    }

    // json.dumps converts non-string keys; anything but str/int/float/bool/None is a TypeError.
    std::string key_text(const Value& k) {
        switch (k.kind()) {
            case Kind::String: return k.as_str();
            case Kind::Bool: return k.as_bool() ? "true" : "false";
            case Kind::Int: return std::to_string(k.as_int());
            case Kind::Float: return float_text(k.as_float());
            case Kind::None: return "null";
            default:
                fail_runtime("keys must be str, int, float, bool or None, not " + py_type_name(k));
        }
    }

    void write_dict(const DictData& d, int level) {
        if (d.items.empty()) {
            out_ += "{}";
            return;
        }
        std::vector<const std::pair<Value, Value>*> items;
        for (const auto& kv : d.items) items.push_back(&kv);
        if (o_.sort_keys)
            std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return py_less(a->first, b->first); });
        out_ += '{';
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) out_ += o_.item_separator;
            newline(level + 1);
            write_string(key_text(items[i]->first));
            out_ += o_.key_separator;
            write(items[i]->second, level + 1);
        }
        newline(level);
        out_ += '}';
    }

    void write_list(const ListData& l, int level) {
        if (l.items.empty()) {
            out_ += "[]";
            return;
        }
        out_ += '[';
        for (size_t i = 0; i < l.items.size(); ++i) {
            if (i) out_ += o_.item_separator;
            newline(level + 1);
            write(l.items[i], level + 1);
        }
        newline(level);
        out_ += ']';
    }

    void write(const Value& v, int level) {
        check();
        switch (v.kind()) {
            case Kind::None: out_ += "null"; return;
            case Kind::Bool: out_ += v.as_bool() ? "true" : "false"; return;
            case Kind::Int: out_ += std::to_string(v.as_int()); return;
            case Kind::Float: out_ += float_text(v.as_float()); return;
            case Kind::String: write_string(v.as_str()); return;
            case Kind::Dict: write_dict(v.as_dict(), level); return;
            case Kind::List:
                if (v.as_list().flavor == ListFlavor::List || v.as_list().flavor == ListFlavor::Tuple) {
                    write_list(v.as_list(), level);
                    return;
                }
                break;
            default:
                break;
        }
        fail_runtime("Object of type " + py_type_name(v) + " is not JSON serializable");
    }
};

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
    std::string out = Dumper(options).run(v);
    if (out.size() > options.max_bytes) fail_limit("tojson output too large");
    return out;
}

}  // namespace moe::jinja
