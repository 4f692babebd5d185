#include "train/data/data_cursor.h"

#include <cstdio>

#include "core/error.h"

namespace moe::train {
namespace {

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

[[noreturn]] void bad(const std::string& what) { throw Error("data.bad_cursor", "", what); }

uint64_t parse_hex64(const Json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_string()) bad(std::string("\"") + key + "\" must be a string of 16 hex digits");
    const std::string s = j[key].get<std::string>();
    if (s.size() != 16) bad(std::string("\"") + key + "\" must be 16 hex digits, got '" + s + "'");
    uint64_t v = 0;
    for (char c : s) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else bad(std::string("\"") + key + "\" must be 16 hex digits, got '" + s + "'");
        v = (v << 4) | uint64_t(d);
    }
    return v;
}

int64_t parse_count(const Json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0)
        bad(std::string("\"") + key + "\" must be a non-negative integer");
    return j[key].get<int64_t>();
}

}  // namespace

Json DataCursor::to_json() const {
    return Json{{"format", "moe.data_cursor"}, {"version", 1},          {"epoch", epoch},
                {"position", position},        {"rng_state", hex64(rng_state)}, {"fingerprint", hex64(fingerprint)}};
}

DataCursor DataCursor::from_json(const Json& j) {
    if (!j.is_object()) bad("a data cursor must be a JSON object");
    if (!j.contains("format") || j["format"] != "moe.data_cursor") bad("\"format\" must be \"moe.data_cursor\"");
    if (!j.contains("version") || j["version"] != 1) bad("unsupported \"version\" (this build reads version 1)");
    DataCursor c;
    c.epoch = parse_count(j, "epoch");
    c.position = parse_count(j, "position");
    c.rng_state = parse_hex64(j, "rng_state");
    c.fingerprint = parse_hex64(j, "fingerprint");
    return c;
}

}  // namespace moe::train
