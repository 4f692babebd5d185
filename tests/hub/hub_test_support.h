// Test helpers for tests/hub: a fake hub child process, `moe-engine download` as a child process
// (its JSON lines collected), a temporary HF_HOME, and the fake hub's control endpoints.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "support/temp_dir.h"
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::test {

// A child process with its stdout read line by line; killed (SIGKILL) and reaped on destruction.
class ChildProcess {
public:
    // env entries "NAME=value" are added to (and override) the parent's environment; NAME= removes.
    // fsize_limit > 0: RLIMIT_FSIZE of the child in bytes (a "disk full" that needs no root).
    ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, long fsize_limit = 0);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // The next stdout line ("" at EOF). Blocks.
    std::string read_line();
    // Reads stdout to EOF, waits, returns the exit status (128+signal when killed by one).
    int wait(std::vector<std::string>* lines = nullptr);
    void signal(int sig);
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string buffer_;
    bool reaped_ = false;
    int status_ = 0;
};

class FakeHub {
public:
    explicit FakeHub(const std::vector<std::string>& extra_args = {});
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    void faults(const nlohmann::json& list);  // POST /_control/faults {"faults": list}
    void reset();                              // faults and log cleared
    nlohmann::json log() const;
    nlohmann::json get_json(const std::string& path) const;  // any GET on the hub, parsed
    std::string get_body(const std::string& path) const;

private:
    ChildProcess process_;
    int port_ = 0;
};

struct DownloadRun {
    int status = -1;
    std::vector<nlohmann::json> events;        // the JSON lines of stdout
    std::vector<nlohmann::json> of(const std::string& event) const;
    const nlohmann::json* last(const std::string& event) const;
    std::string error_code() const;
};

// Environment for a child moe-engine: HF_HOME=<home>, HF_ENDPOINT=<endpoint>, no token, short backoff.
std::vector<std::string> hub_env(const FakeHub& hub, const std::string& hf_home, const std::string& token = "");
std::string engine_bin();
// Runs `moe-engine <args...> --json` to completion.
DownloadRun run_engine(const std::vector<std::string>& args, const std::vector<std::string>& env, long fsize_limit = 0);

// The fake hub's listing for a repository: path -> {"size", "sha256" (LFS) or null, "oid"}.
std::map<std::string, nlohmann::json> hub_listing(const FakeHub& hub, const std::string& repo);

std::string sha256_file_hex(const std::string& path);   // via coreutils sha256sum (independent of engine/hub)

}  // namespace moe::test
