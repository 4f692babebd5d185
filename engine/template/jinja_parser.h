// Parser from tokens to the syntax tree, mirroring jinja2.parser (operator precedence, tests
// without parentheses, tuple rules) so that every template parses to what jinja2 would run.
#pragma once

#include <cstdint>
#include <string_view>

#include "template/jinja_ast.h"

namespace moe::jinja {

struct ParseLimits {
    uint32_t max_nesting = 96;     // nested blocks, brackets and unary operators
    uint32_t max_expr_depth = 160; // height of one expression tree (long a+b+c+... chains)
};

// Throws JinjaError: template.syntax for what jinja2 rejects (with the position), template.unsupported
// for valid Jinja this engine does not run (extends, include, import, block, recursive loops...).
Template parse_template(std::string_view source, std::string name, const ParseLimits& limits = {});

// Whether a filter or test name is implemented, known to jinja2 but not implemented, or unknown.
enum class Support : uint8_t { Implemented, Unsupported, Unknown };
Support filter_support(std::string_view name);
Support test_support(std::string_view name);

}  // namespace moe::jinja
