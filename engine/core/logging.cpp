#include "core/logging.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace moe {
namespace {

constexpr size_t kMaxFileBytes = size_t(5) << 20;
constexpr size_t kKeptFiles = 3;

// %* : "" for info and below, "warning: " / "error: " / "critical: " above, so that stderr keeps
// the engine's plain progress lines ("backend: cpu") and marks only what needs attention.
class SeverityPrefix final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        if (msg.level < spdlog::level::warn) return;
        const auto name = spdlog::level::to_string_view(msg.level);
        dest.append(name.data(), name.data() + name.size());
        dest.append(std::string_view(": "));
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SeverityPrefix>(); }
};

std::unique_ptr<spdlog::formatter> stderr_format() {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<SeverityPrefix>('*').set_pattern("%*%v");
    return f;
}

std::mutex g_mutex;
std::shared_ptr<spdlog::logger> g_access;  // guarded by g_mutex

}  // namespace

std::string default_log_file() {
    if (const char* explicit_file = std::getenv("MOE_LOG_FILE")) return explicit_file;
    std::string state;
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) state = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home) state = std::string(home) + "/.local/state";
    else return "";
    return state + "/moe-workbench/logs/moe-engine.log";
}

LogSetup setup_logging() {
    LogSetup setup;
    auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    console->set_formatter(stderr_format());
    std::vector<spdlog::sink_ptr> sinks{console};
    std::vector<spdlog::sink_ptr> file_sinks;
    const std::string path = default_log_file();
    if (!path.empty()) {
        try {
            std::filesystem::create_directories(std::filesystem::path(path).parent_path());
            auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path, kMaxFileBytes, kKeptFiles);
            file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%P] [%n] [%l] %v");
            sinks.push_back(file);
            file_sinks.push_back(file);
            setup.file = path;
        } catch (const std::exception& e) {  // spdlog_ex or filesystem_error: read-only home, full disk, ...
            setup.file_error = e.what();
        }
    }
    auto logger = std::make_shared<spdlog::logger>("moe-engine", sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);  // a crash must not eat the last lines
    spdlog::set_default_logger(logger);
    {
        std::lock_guard lock(g_mutex);
        g_access = std::make_shared<spdlog::logger>("access", file_sinks.begin(), file_sinks.end());
        g_access->set_level(spdlog::level::info);
        g_access->flush_on(spdlog::level::info);
    }
    if (!setup.file_error.empty())
        spdlog::warn("no log file: cannot open {}: {} (set MOE_LOG_FILE to another path, or empty for none)", path,
                     setup.file_error);
    return setup;
}

std::shared_ptr<spdlog::logger> access_log() {
    std::lock_guard lock(g_mutex);
    if (!g_access) g_access = std::make_shared<spdlog::logger>("access");  // no sinks: records go nowhere
    return g_access;
}

}  // namespace moe
