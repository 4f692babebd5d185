#include "hub_test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <httplib.h>

#include "support/test_paths.h"

extern char** environ;

namespace moe::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, long fsize_limit) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
        const std::string kv = *e;
        vars[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
    for (const auto& kv : env) {
        const std::string name = kv.substr(0, kv.find('=')), value = kv.substr(kv.find('=') + 1);
        if (value.empty()) vars.erase(name); else vars[name] = value;
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        dup2(fds[1], STDOUT_FILENO);
        if (fsize_limit > 0) {
            struct rlimit rl{rlim_t(fsize_limit), rlim_t(fsize_limit)};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        std::vector<char*> args, envp;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
}

ChildProcess::~ChildProcess() {
    if (!reaped_) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
}

std::string ChildProcess::read_line() {
    for (;;) {
        const size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        char buf[65536];
        const ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string rest;
            rest.swap(buffer_);
            return rest;
        }
        buffer_.append(buf, size_t(n));
    }
}

int ChildProcess::wait(std::vector<std::string>* lines) {
    for (;;) {
        std::string line = read_line();
        if (line.empty() && buffer_.empty()) {
            // EOF (an empty line mid-stream is impossible for JSON lines)
            break;
        }
        if (lines) lines->push_back(line);
    }
    if (!reaped_) {
        waitpid(pid_, &status_, 0);
        reaped_ = true;
    }
    if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
    return WEXITSTATUS(status_);
}

void ChildProcess::signal(int sig) { ::kill(pid_, sig); }

FakeHub::FakeHub(const std::vector<std::string>& extra_args)
    : process_([&] {
          std::vector<std::string> argv = {binary_path("bin/moe-fake-hub")};
          argv.insert(argv.end(), extra_args.begin(), extra_args.end());
          return argv;
      }(), {}) {
    const std::string line = process_.read_line();
    const auto j = nlohmann::json::parse(line);
    port_ = j.at("port").get<int>();
}

void FakeHub::faults(const nlohmann::json& list) {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Post("/_control/faults", nlohmann::json{{"faults", list}}.dump(), "application/json");
    if (!r || r->status != 200) throw std::runtime_error("fake hub refused the faults " + list.dump());
}

void FakeHub::reset() { get_body("/_control/reset"); }

nlohmann::json FakeHub::log() const { return get_json("/_control/log"); }

std::string FakeHub::get_body(const std::string& path) const {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get(path.c_str());
    if (!r) throw std::runtime_error("fake hub unreachable for " + path);
    return r->body;
}

nlohmann::json FakeHub::get_json(const std::string& path) const { return nlohmann::json::parse(get_body(path)); }

std::vector<nlohmann::json> DownloadRun::of(const std::string& event) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events)
        if (e.value("event", "") == event) out.push_back(e);
    return out;
}

const nlohmann::json* DownloadRun::last(const std::string& event) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if (it->value("event", "") == event) return &*it;
    return nullptr;
}

std::string DownloadRun::error_code() const {
    const auto* e = last("error");
    return e ? e->value("code", "") : "";
}

std::vector<std::string> hub_env(const FakeHub& hub, const std::string& hf_home, const std::string& token) {
    return {"HF_HOME=" + hf_home, "HF_ENDPOINT=" + hub.endpoint(), "HF_TOKEN=" + token, "HF_HUB_CACHE=",
            "HF_TOKEN_PATH=", "MOE_HUB_BACKOFF_BASE=0.05"};
}

std::string engine_bin() { return binary_path("bin/moe-engine"); }

DownloadRun run_engine(const std::vector<std::string>& args, const std::vector<std::string>& env, long fsize_limit) {
    std::vector<std::string> argv = {engine_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    ChildProcess p(argv, env, fsize_limit);
    std::vector<std::string> lines;
    DownloadRun run;
    run.status = p.wait(&lines);
    for (const auto& l : lines)
        if (!l.empty()) run.events.push_back(nlohmann::json::parse(l));
    return run;
}

std::map<std::string, nlohmann::json> hub_listing(const FakeHub& hub, const std::string& repo) {
    std::map<std::string, nlohmann::json> out;
    std::string path = "/api/models/" + repo + "/tree/main?recursive=true";
    while (!path.empty()) {
        httplib::Client c("127.0.0.1", hub.port());
        auto r = c.Get(path.c_str());
        if (!r || r->status != 200) throw std::runtime_error("listing failed: " + path);
        for (const auto& e : nlohmann::json::parse(r->body))
            if (e["type"] == "file")
                out[e["path"].get<std::string>()] = {{"size", e["size"]}, {"oid", e["oid"]},
                                                      {"sha256", e.contains("lfs") ? e["lfs"]["oid"] : nlohmann::json(nullptr)}};
        const std::string link = r->get_header_value("Link");
        const size_t host = link.find(hub.endpoint());
        path = host == std::string::npos ? "" : link.substr(host + hub.endpoint().size(), link.find('>') - host - hub.endpoint().size());
    }
    return out;
}

std::string sha256_file_hex(const std::string& path) {
    const std::string cmd = "sha256sum '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen sha256sum failed");
    char buf[128] = {0};
    const size_t n = fread(buf, 1, 64, p);
    pclose(p);
    return std::string(buf, n);
}

}  // namespace moe::test
