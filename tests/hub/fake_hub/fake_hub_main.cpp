// moe-fake-hub: a Hugging Face-compatible hub on 127.0.0.1 for the download tests. It serves the
// generated repositories of fake_repos.cpp through the hub's API shapes (search, revision, tree with
// Link pagination, resolve with X-Repo-Commit / ETag / X-Linked-* and a 302 to a "CDN" on another host
// name), honours Range, gates one repository, and injects the faults of faults.h on request.
// Prints {"event":"listening","port":N} once ready, like `moe-engine serve`.
#include <cstdio>
#include <string>

#include "fake_hub/fake_hub.h"

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + name) return argv[i + 1];
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace moe::fakehub;
    if (argc > 1 && std::string(argv[1]) == "--help") {
        std::puts("usage: moe-fake-hub [--host 127.0.0.1] [--port N (0: any)] [--cdn-host NAME] [--throttle BYTES_PER_S] [--data-dir tests/data]");
        return 0;
    }
    Hub hub;
    hub.repos = make_fake_repos(arg(argc, argv, "data-dir", MOE_TEST_DATA_DIR));
    hub.cdn_host = arg(argc, argv, "cdn-host", "localhost");
    hub.faults.default_bps = std::stod(arg(argc, argv, "throttle", "0"));
    httplib::Server svr;
    svr.new_task_queue = [] { return new httplib::ThreadPool(64); };
    svr.set_keep_alive_timeout(2);
    add_api_routes(svr, hub);
    add_file_routes(svr, hub);
    add_control_routes(svr, hub);
    const std::string host = arg(argc, argv, "host", "127.0.0.1");
    const int port = std::stoi(arg(argc, argv, "port", "0"));
    hub.port = port == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, port) ? port : -1);
    if (hub.port <= 0) {
        std::fprintf(stderr, "moe-fake-hub: cannot bind\n");
        return 1;
    }
    std::printf("{\"event\":\"listening\",\"port\":%d}\n", hub.port);
    std::fflush(stdout);
    return svr.listen_after_bind() ? 0 : 1;
}

