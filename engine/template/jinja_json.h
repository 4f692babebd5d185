// The `tojson` filter as transformers defines it: Python's json.dumps(x, ensure_ascii=False,
// indent=None, separators=None, sort_keys=False), not jinja2's HTML-safe variant.
#pragma once

#include <optional>
#include <string>

#include "template/jinja_value.h"

namespace moe::jinja {

struct JsonDumpOptions {
    bool ensure_ascii = false;
    std::optional<std::string> indent;  // nullopt = one line
    std::string item_separator = ", ";
    std::string key_separator = ": ";
    bool sort_keys = false;
    size_t max_bytes = SIZE_MAX;
};

// Throws template.runtime (TypeError) for values JSON cannot hold (Undefined, namespaces...).
std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace moe::jinja
