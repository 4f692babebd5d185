// What `moe-engine download` prints: JSON lines on stdout (--json, the GUI's contract, docs/hub.md)
// or a progress bar on stderr for a person.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/strict_json.h"
#include "hub/downloader.h"

namespace moe::hub {

// One JSON object per line on stdout, flushed (a reader must see each event as it happens).
void print_json_line(const Json& j);
// {"event":"error","code","message","file"?}
Json error_event(const Error& e);

class JsonLinesObserver : public DownloadObserver {
public:
    void resolved(const std::string& repo, const std::string& commit, const std::vector<RepoFile>& files,
                  uint64_t total_bytes, uint64_t already_bytes) override;
    void progress(const ProgressSample& p) override;
    void file_done(const RepoFile& file, bool already_cached) override;
    void retry(const std::string& file, int attempt, const std::string& reason, double wait_s) override;
    void waiting_for_lock(const std::string& file) override;
};

// "[#######.......]  45%  1.2 GiB / 2.7 GiB  85.3 MiB/s  ETA 18s  model-00002-of-00005.safetensors"
class TerminalObserver : public DownloadObserver {
public:
    explicit TerminalObserver(FILE* out);
    void resolved(const std::string& repo, const std::string& commit, const std::vector<RepoFile>& files,
                  uint64_t total_bytes, uint64_t already_bytes) override;
    void progress(const ProgressSample& p) override;
    void file_done(const RepoFile& file, bool already_cached) override;
    void retry(const std::string& file, int attempt, const std::string& reason, double wait_s) override;
    void waiting_for_lock(const std::string& file) override;
    void finish_line();

private:
    void line(const std::string& text);  // a message above the bar
    FILE* out_;
    bool tty_;
    bool bar_shown_ = false;
    std::chrono::steady_clock::time_point last_plain_{};
    size_t files_total_ = 0, files_done_ = 0;
};

std::string human_bytes(double bytes);

}  // namespace moe::hub
