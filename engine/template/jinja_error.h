// Errors raised inside the Jinja engine.
//
// Deep helpers (value operations, filters) do not know where in the template they run, so they
// throw JinjaError without a position; the renderer fills in the position of the node it was
// evaluating, and the ChatTemplate facade turns it into a moe::Error naming the template.
//
// Codes (stable, asserted on by tests):
//   template.syntax       the source is not valid Jinja (jinja2 would fail to compile it)
//   template.unsupported  valid Jinja that this engine does not implement
//   template.raised       the template called raise_exception(msg)
//   template.limit        a sandbox limit was hit (steps, output, nesting, size)
//   template.undefined    an undefined value was used (jinja2 UndefinedError)
//   template.security     a call the sandbox forbids (jinja2 SecurityError)
//   template.runtime      any other runtime error (Python TypeError, ValueError, ZeroDivisionError...)
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace moe::jinja {

struct Pos {
    uint32_t line = 0;  // 1-based; 0 = unknown
    uint32_t column = 0;
};

class JinjaError : public std::runtime_error {
public:
    JinjaError(std::string code, std::string message, Pos pos = {})
        : std::runtime_error(message), code_(std::move(code)), message_(std::move(message)), pos_(pos) {}

    const std::string& code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    Pos pos() const noexcept { return pos_; }
    void set_pos_if_unknown(Pos p) noexcept {
        if (pos_.line == 0) pos_ = p;
    }

private:
    std::string code_;
    std::string message_;
    Pos pos_;
};

[[noreturn]] inline void fail(const char* code, std::string message, Pos pos = {}) {
    throw JinjaError(code, std::move(message), pos);
}
[[noreturn]] inline void fail_runtime(std::string message) { fail("template.runtime", std::move(message)); }
[[noreturn]] inline void fail_limit(std::string message) { fail("template.limit", std::move(message)); }
[[noreturn]] inline void fail_unsupported(std::string message, Pos pos = {}) {
    fail("template.unsupported", std::move(message), pos);
}

}  // namespace moe::jinja
