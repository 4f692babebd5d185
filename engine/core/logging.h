// Where moe-engine's log records go: stderr and a rotating log file, never stdout. stdout carries
// only a command's result (the `listening` line of serve, JSON, generated text), so a parent that
// parses it, or a pipe, never sees a log line.
//
// The log file: $MOE_LOG_FILE when set (set but empty: no file), else
// $XDG_STATE_HOME/moe-workbench/logs/moe-engine.log (XDG_STATE_HOME defaults to ~/.local/state).
// It rotates at 5 MiB and keeps 3 old files; several engine processes may append to it, so every
// line names its process id. On stderr, info lines are the bare message and warnings and errors
// are prefixed "warning: " / "error: ".
#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace moe {

struct LogSetup {
    std::string file;        // the log file in use ("" when none)
    std::string file_error;  // why the file could not be opened ("" when it was, or none was wanted)
};

// Replaces spdlog's default logger (which writes to stdout) with stderr + the log file, for every
// thread. Call once, first thing in main; a log file that cannot be opened is reported on stderr
// and logging goes on without it.
LogSetup setup_logging();

// The log file's path by the rules above ("" when MOE_LOG_FILE is set but empty, or no home is known).
std::string default_log_file();

// The HTTP access log (`serve`: one line per request): the log file only, so the per-request lines
// do not flood stderr. A logger without sinks when no file is open (or setup_logging() never ran).
std::shared_ptr<spdlog::logger> access_log();

}  // namespace moe
