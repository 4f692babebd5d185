// The fake hub's shared state and its route groups (see fake_hub_main.cpp for what it is).
#pragma once

#include <httplib.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_hub/fake_repos.h"
#include "fake_hub/faults.h"

namespace moe::fakehub {

constexpr const char* kGoodToken = "hf_fake_good";      // has accepted the gated repo's licence
constexpr const char* kInvalidToken = "hf_fake_invalid";  // rejected everywhere

struct Hub {
    std::vector<FakeRepo> repos;
    FaultBoard faults;
    std::string cdn_host = "localhost";
    int port = 0;

    const FakeRepo* repo(const std::string& id) const {
        for (const auto& r : repos)
            if (r.id == id) return &r;
        return nullptr;
    }
};

// An error answer in the hub's style: X-Error-Code, X-Error-Message and {"error": message}.
void error(httplib::Response& res, int status, const std::string& code, const std::string& message);
// The repository named by the route's first two captures, after the access rules (answers 401/403/404
// itself and returns null). `files`: a file download (gated repositories refuse those without access).
const FakeRepo* find_repo(const Hub& hub, const httplib::Request& req, httplib::Response& res, bool files = false);
// The commit a revision names, or "" (after answering 404).
std::string commit_of(const FakeRepo& r, const std::string& rev, httplib::Response& res);

// Logs the request (Host, Authorization, Range) and answers an injected status fault; false when the
// handler should not run.
bool before(Hub& hub, const httplib::Request& req, httplib::Response& res, int* log_index);

template <class H>
httplib::Server::Handler logged(Hub& hub, H handler) {
    return [&hub, handler](const httplib::Request& req, httplib::Response& res) {
        int idx = -1;
        if (before(hub, req, res, &idx)) handler(hub, req, res);
        hub.faults.set_status(idx, res.status == -1 ? 200 : res.status);
    };
}

void add_api_routes(httplib::Server& svr, Hub& hub);      // /api/models...
void add_file_routes(httplib::Server& svr, Hub& hub);     // /{repo}/resolve/..., /cdn/...
void add_control_routes(httplib::Server& svr, Hub& hub);  // /_control/...

}  // namespace moe::fakehub
