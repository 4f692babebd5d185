#include "server/api_error.h"

#include <new>
#include <regex>
#include <string_view>

namespace moe::server {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

struct Mapping {
    const char* code_or_prefix;  // exact code, or a prefix ending in '.'
    int status;
    const char* type;
};

// First match wins: exact codes before their family's prefix.
constexpr Mapping kMappings[] = {
    {"model.context_full", 400, "invalid_request_error"},
    {"model.token_out_of_range", 400, "invalid_request_error"},
    {"tokenizer.unknown_id", 500, "server_error"},  // prompt ids are range-checked before they get here
    {"template.", 400, "invalid_request_error"},  // the template rejected these messages
    {"checkpoint.not_a_directory", 404, "invalid_request_error"},
    {"config.not_found", 404, "invalid_request_error"},
    {"io.open_failed", 404, "invalid_request_error"},
    {"config.unsupported_architecture", 422, "invalid_request_error"},
    {"model.unsupported_architecture", 422, "invalid_request_error"},
    {"backend.unavailable", 422, "invalid_request_error"},
    {"checkpoint.", 422, "invalid_request_error"},  // missing tensor, shape/dtype mismatch, pickle refused
    {"safetensors.", 422, "invalid_request_error"},
    {"index.", 422, "invalid_request_error"},
    {"config.", 422, "invalid_request_error"},
    {"tokenizer.", 422, "invalid_request_error"},
    {"tokenizer_config.", 422, "invalid_request_error"},
    {"cuda.out_of_memory", 507, "server_error"},
    {"cuda.device_fault", 503, "server_error"},  // the engine exits and is restarted (core/device_fault.h)
    {"cli.", 400, "invalid_request_error"},
};

const Mapping* find_mapping(const std::string& code) {
    for (const auto& m : kMappings) {
        const std::string_view key = m.code_or_prefix;
        const bool prefix = key.back() == '.';
        if (prefix ? starts_with(code, key) : code == key) return &m;
    }
    return nullptr;
}

// cuda.out_of_memory details read "<what> needs N GiB but only F GiB of T GiB are free on the GPU";
// the numbers become fields so the app can say how much is missing without parsing prose.
void add_memory_fields(const std::string& detail, Json& extra) {
    static const std::regex re(R"(needs ([0-9.]+) GiB but only ([0-9.]+) GiB(?: of ([0-9.]+) GiB)?)");
    std::smatch m;
    if (!std::regex_search(detail, m, re)) return;
    extra["needed_gib"] = std::stod(m[1].str());
    extra["free_gib"] = std::stod(m[2].str());
    if (m[3].matched) extra["total_gib"] = std::stod(m[3].str());
}

}  // namespace

Json ApiError::body() const {
    Json err = {{"message", message}, {"type", type}, {"code", code}};
    err["param"] = param.empty() ? Json(nullptr) : Json(param);
    for (const auto& [k, v] : extra.items()) err[k] = v;
    return Json{{"error", std::move(err)}};
}

ApiError invalid_request(std::string param, std::string message, std::string code) {
    ApiError e;
    e.status = 400;
    e.type = "invalid_request_error";
    e.code = std::move(code);
    e.message = std::move(message);
    e.param = std::move(param);
    return e;
}

void throw_invalid_request(std::string param, std::string message, std::string code) {
    throw ApiException(invalid_request(std::move(param), std::move(message), std::move(code)));
}

ApiError api_error_from(const moe::Error& e) {
    ApiError out;
    out.code = e.code();
    out.message = e.what();
    if (const Mapping* m = find_mapping(e.code())) {
        out.status = m->status;
        out.type = m->type;
    }
    if (e.code() == "model.context_full") out.code = "context_length_exceeded";
    if (!e.tensor().empty()) out.extra["tensor"] = e.tensor();
    if (!e.file().empty()) out.extra["file"] = e.file();
    if (e.code() == "cuda.out_of_memory") add_memory_fields(e.detail(), out.extra);
    if (e.code() == "cuda.device_fault") out.retry_after_s = 10;  // the restarted engine reloads the model
    if (out.code != e.code()) out.extra["engine_code"] = e.code();
    return out;
}

ApiError internal_error(const std::exception& e) {
    ApiError out;
    out.code = "internal_error";
    out.message = std::string("internal error: ") + e.what();
    return out;
}

ApiError current_exception_error(std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const ApiException& e) {
        return e.error();
    } catch (const moe::Error& e) {
        return api_error_from(e);
    } catch (const std::bad_alloc&) {
        ApiError out;
        out.status = 507;
        out.code = "out_of_memory";
        out.message = "the server ran out of host memory while handling this request";
        return out;
    } catch (const std::exception& e) {
        return internal_error(e);
    } catch (...) {
        ApiError out;
        out.code = "internal_error";
        out.message = "internal error (unknown exception)";
        return out;
    }
}

}  // namespace moe::server
