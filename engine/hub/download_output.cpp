#include "hub/download_output.h"

#include <cmath>
#include <unistd.h>

namespace moe::hub {

void print_json_line(const Json& j) {
    const std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

Json error_event(const Error& e) {
    Json j = {{"event", "error"}, {"code", e.code()}, {"message", e.what()}};
    if (!e.file().empty()) j["file"] = e.file();
    return j;
}

std::string human_bytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    return buf;
}

// ---- JSON lines ---------------------------------------------------------------------------------
void JsonLinesObserver::resolved(const std::string& repo, const std::string& commit, const std::vector<RepoFile>& files,
                                 uint64_t total_bytes, uint64_t already_bytes) {
    Json list = Json::array();
    for (const auto& f : files) list.push_back({{"path", f.path}, {"size", f.size}});
    print_json_line({{"event", "resolved"}, {"repo", repo}, {"revision", commit}, {"files", list},
                     {"total_bytes", total_bytes}, {"already_bytes", already_bytes}});
}

void JsonLinesObserver::progress(const ProgressSample& p) {
    print_json_line({{"event", "progress"}, {"file", p.file}, {"bytes", p.bytes}, {"total", p.total},
                     {"overall_bytes", p.overall_bytes}, {"overall_total", p.overall_total},
                     {"speed_bps", std::round(p.speed_bps)}, {"eta_s", p.eta_s < 0 ? Json(nullptr) : Json(std::round(p.eta_s))}});
}

void JsonLinesObserver::file_done(const RepoFile& f, bool already_cached) {
    print_json_line({{"event", "file_done"}, {"file", f.path}, {"verified", true}, {"hash", f.blob_id()},
                     {"cached", already_cached}});
}

void JsonLinesObserver::retry(const std::string& file, int attempt, const std::string& reason, double wait_s) {
    print_json_line({{"event", "retry"}, {"file", file}, {"attempt", attempt}, {"reason", reason},
                     {"wait_s", std::round(wait_s * 100) / 100}});
}

void JsonLinesObserver::waiting_for_lock(const std::string& file) {
    print_json_line({{"event", "waiting"}, {"file", file}, {"reason", "another process is downloading this file"}});
}

// ---- terminal -----------------------------------------------------------------------------------
TerminalObserver::TerminalObserver(FILE* out) : out_(out), tty_(::isatty(::fileno(out)) == 1) {}

void TerminalObserver::line(const std::string& text) {
    if (bar_shown_ && tty_) std::fputs("\r\033[K", out_);
    std::fprintf(out_, "%s\n", text.c_str());
    bar_shown_ = false;
    std::fflush(out_);
}

void TerminalObserver::finish_line() {
    if (bar_shown_ && tty_) std::fputs("\n", out_);
    bar_shown_ = false;
}

void TerminalObserver::resolved(const std::string& repo, const std::string& commit, const std::vector<RepoFile>& files,
                                uint64_t total_bytes, uint64_t already_bytes) {
    files_total_ = files.size();
    line(repo + " @ " + commit + ": " + std::to_string(files.size()) + " files, " + human_bytes(double(total_bytes)) +
         (already_bytes > 0 ? " (" + human_bytes(double(already_bytes)) + " already here)" : ""));
}

void TerminalObserver::progress(const ProgressSample& p) {
    const auto now = std::chrono::steady_clock::now();
    if (!tty_ && now - last_plain_ < std::chrono::seconds(5)) return;  // logs: one line every 5 s
    last_plain_ = now;
    const double frac = p.overall_total ? double(p.overall_bytes) / double(p.overall_total) : 1.0;
    const int width = 30, filled = int(frac * width);
    std::string bar = "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.') + "]";
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s %3d%%  %s / %s  %s/s  ETA %s  (%zu/%zu files)  %s %3d%%", bar.c_str(), int(frac * 100),
                  human_bytes(double(p.overall_bytes)).c_str(), human_bytes(double(p.overall_total)).c_str(),
                  human_bytes(p.speed_bps).c_str(), p.eta_s < 0 ? "?" : (std::to_string(int64_t(p.eta_s)) + "s").c_str(),
                  files_done_, files_total_, p.file.substr(p.file.rfind('/') == std::string::npos ? 0 : p.file.rfind('/') + 1).c_str(),
                  p.total ? int(100.0 * double(p.bytes) / double(p.total)) : 100);
    if (tty_) {
        std::fprintf(out_, "\r\033[K%s", buf);
        bar_shown_ = true;
    } else {
        std::fprintf(out_, "%s\n", buf);
    }
    std::fflush(out_);
}

void TerminalObserver::file_done(const RepoFile& f, bool already_cached) {
    ++files_done_;
    line(std::string(already_cached ? "cached   " : "verified ") + f.path + "  " + human_bytes(double(f.size)) +
         (f.sha256 ? "  sha256 " : "  git-sha1 ") + f.blob_id().substr(0, 12));
}

void TerminalObserver::retry(const std::string& file, int attempt, const std::string& reason, double wait_s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (attempt %d, waiting %.1f s)", attempt, wait_s);
    line("retry    " + file + ": " + reason + buf);
}

void TerminalObserver::waiting_for_lock(const std::string& file) {
    line("waiting  " + file + ": another process is downloading it");
}

}  // namespace moe::hub
