// `moe-engine <subcommand>` as a child process with stdout and stderr kept apart, which is the
// contract tests/cli checks: stdout carries only the command's result, logs go to stderr and the
// log file.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace moe::test {

struct CommandResult {
    int status = -1;  // exit status; 128 + signal when killed by one
    std::string out;  // all of stdout
    std::string err;  // all of stderr
};

// Runs build/bin/moe-engine with `args` to completion. env: "NAME=value" entries added to (and
// overriding) this process's environment.
CommandResult run_engine(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// A long-running moe-engine (serve): stdout read line by line as it arrives, stderr collected in
// a file. The destructor kills and reaps it if finish() was not called.
class EngineChild {
public:
    EngineChild(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
    ~EngineChild();
    EngineChild(const EngineChild&) = delete;
    EngineChild& operator=(const EngineChild&) = delete;

    // The next line of stdout, without its newline; throws after timeout_ms or at EOF.
    std::string read_line(int timeout_ms);
    // Sends `sig`, reads stdout to EOF and reaps: the rest of stdout, status and stderr.
    CommandResult finish(int sig);

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string err_path_;
    std::string buffer_;
};

}  // namespace moe::test
