// Fault injection for the fake hub, set per test through POST /_control/faults:
//   {"faults": [{"match": "model-00001", "kind": "reset", "at": 100000, "times": 1}, ...]}
// kind: throttle {bps} | truncate {at} (an honest-looking short body) | reset {at} (connection dropped
// mid-body) | stall {at, seconds} (stops sending, keeps the connection) | ignore_range (200 + whole
// body) | wrong_range (206 whose Content-Range starts at 0 whatever was asked) | corrupt (same size,
// flipped bytes) | status {status, retry_after?, error_code?}.
// "match" is a substring of the request path; "times" how many requests it hits (-1: all).
// Every request is logged with the Host and Authorization it carried (GET /_control/log).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::fakehub {

struct Fault {
    std::string match;
    std::string kind;
    uint64_t at = 0;
    double bps = 0;
    double seconds = 0;
    int status = 0;
    int retry_after = -1;
    std::string error_code;
    int times = -1;
};

// What applies to one body transfer (several faults may combine, e.g. throttle + reset).
struct BodyFaults {
    double bps = 0;                 // 0: full speed
    int64_t truncate_at = -1, reset_at = -1, stall_at = -1;
    double stall_seconds = 0;
    bool ignore_range = false, wrong_range = false, corrupt = false;
};

class FaultBoard {
public:
    void add(const nlohmann::json& spec);   // throws std::exception on a malformed spec
    void clear();
    // A status fault for this path (consumed), or status 0.
    Fault take_status(const std::string& path);
    // Range faults (ignore_range, wrong_range) only hit, and only count, requests that carry a Range.
    BodyFaults take_body(const std::string& path, bool has_range);

    int log_request(const nlohmann::json& entry);   // returns the entry index
    void set_status(int index, int status);
    nlohmann::json log() const;

    double default_bps = 0;                  // --throttle

private:
    bool consume(Fault& f, const std::string& path);
    mutable std::mutex mu_;
    std::vector<Fault> faults_;
    nlohmann::json log_ = nlohmann::json::array();
};

}  // namespace moe::fakehub
