// Python string formatting: `fmt % args`, str.format (through jinja2's sandboxed formatter) and
// the format-spec mini-language for str, int, float and bool. Nested replacement fields inside a
// format spec are not supported (template.unsupported).
#pragma once

#include <string>
#include <string_view>

#include "template/jinja_value.h"

namespace moe::jinja {

class Renderer;
struct Args;

std::string percent_format(Renderer& r, const std::string& fmt, const Value& args);
std::string str_format(Renderer& r, const std::string& fmt, const Args& args);
// Python format(value, spec).
std::string format_value(Renderer& r, const Value& v, std::string_view spec);

}  // namespace moe::jinja
