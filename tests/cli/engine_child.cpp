#include "engine_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

#include "support/test_paths.h"

extern char** environ;

namespace moe::test {
namespace {

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::map<std::string, std::string> vars;
    auto put = [&vars](const std::string& kv) {
        const size_t eq = kv.find('=');
        vars[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    };
    for (char** e = environ; *e; ++e) put(*e);
    for (const auto& kv : extra) put(kv);
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int exit_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

std::string temp_file_name() {
    char name[] = "/tmp/moe-engine-stderr-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    return name;
}

}  // namespace

EngineChild::EngineChild(const std::vector<std::string>& args, const std::vector<std::string>& env)
    : err_path_(temp_file_name()) {
    std::vector<std::string> argv = {binary_path("bin/moe-engine")};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> envs = merged_environment(env);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(), O_WRONLY | O_TRUNC, 0600);
    auto a = c_strings(argv);
    auto e = c_strings(envs);
    const int rc = posix_spawn(&pid_, a[0], &actions, nullptr, a.data(), e.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

EngineChild::~EngineChild() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    unlink(err_path_.c_str());
}

std::string EngineChild::read_line(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        const size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw std::runtime_error("moe-engine printed no line on stdout in time");
        pollfd p{out_fd_, POLLIN, 0};
        if (poll(&p, 1, int(left.count())) <= 0) continue;
        char buf[4096];
        const ssize_t n = read(out_fd_, buf, sizeof buf);
        if (n <= 0) throw std::runtime_error("moe-engine closed stdout (exited?); stdout so far: " + buffer_);
        buffer_.append(buf, size_t(n));
    }
}

CommandResult EngineChild::finish(int sig) {
    CommandResult r;
    if (sig) kill(pid_, sig);
    r.out.swap(buffer_);
    char buf[4096];
    for (ssize_t n; (n = read(out_fd_, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        r.out.append(buf, size_t(n));
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    r.status = exit_status(status);
    r.err = read_file(err_path_);
    return r;
}

CommandResult run_engine(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    EngineChild child(args, env);
    return child.finish(0);
}

}  // namespace moe::test
