#include "hub/downloader.h"

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/stat.h>
#include <thread>

#include "core/error.h"
#include "hub/repo_cache.h"

namespace moe::hub {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t file_size_or_zero(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

// Per-file byte counters shared by the workers and the progress sampler.
struct FileState {
    RepoFile file;
    std::atomic<uint64_t> bytes{0};
    std::atomic<bool> active{false};
    uint64_t last_reported = UINT64_MAX;
};

class Run {
public:
    Run(const HubClient& client, const DownloadRequest& req, DownloadObserver& obs, const RepoCache& cache,
        std::string commit, std::vector<RepoFile> files)
        : client_(client), req_(req), obs_(obs), cache_(cache), commit_(std::move(commit)) {
        for (auto& f : files) {
            auto s = std::make_unique<FileState>();
            s->file = std::move(f);
            const uint64_t done = file_size_or_zero(cache_.blob_path(s->file.blob_id()));
            const uint64_t partial = file_size_or_zero(cache_.incomplete_path(s->file.blob_id()));
            s->bytes = done == s->file.size ? done : std::min(partial, s->file.size);
            total_ += s->file.size;
            states_.push_back(std::move(s));
        }
    }

    void start_event() {
        std::vector<RepoFile> files;
        uint64_t already = 0;
        for (const auto& s : states_) {
            files.push_back(s->file);
            already += s->bytes;
        }
        obs_.resolved(req_.repo, commit_, files, total_, already);
    }

    void execute() {
        std::vector<std::thread> workers;
        const int jobs = std::max(1, std::min<int>(req_.jobs, int(states_.size())));
        for (int i = 0; i < jobs; ++i) workers.emplace_back([this] { work(); });
        sample_until_done(jobs);
        for (auto& w : workers) w.join();
        if (first_error_) throw *first_error_;
        if (req_.fetch.cancel && req_.fetch.cancel->load())
            throw Error("hub.stopped", req_.repo, "download stopped; partial files are kept for resume");
    }

private:
    void work() {
        for (;;) {
            const size_t i = next_.fetch_add(1);
            if (i >= states_.size() || stop_.load()) break;
            fetch_one(*states_[i]);
        }
        finished_workers_.fetch_add(1);
    }

    void fetch_one(FileState& s) {
        FetchOptions opt = req_.fetch;
        opt.cancel = &stop_;
        FetchCallbacks cb;
        cb.progress = [&s](uint64_t bytes) { s.bytes = bytes; };
        cb.retry = [&](int attempt, const std::string& reason, double wait) {
            std::lock_guard<std::mutex> g(mu_);
            obs_.retry(s.file.path, attempt, reason, wait);
        };
        cb.waiting_for_lock = [&] {
            std::lock_guard<std::mutex> g(mu_);
            obs_.waiting_for_lock(s.file.path);
        };
        s.active = true;
        try {
            const FetchOutcome outcome = fetch_file(client_, cache_, req_.repo, commit_, s.file, opt, cb);
            s.bytes = s.file.size;
            std::lock_guard<std::mutex> g(mu_);
            obs_.file_done(s.file, outcome == FetchOutcome::AlreadyCached);
        } catch (const Error& e) {
            record_failure(e);
        } catch (const std::exception& e) {  // bad_alloc, system_error: still one clean error, no terminate()
            record_failure(Error("hub.io", s.file.path, std::string("unexpected failure: ") + e.what()));
        }
        s.active = false;
    }

    void record_failure(const Error& e) {
        std::lock_guard<std::mutex> g(mu_);
        if (!first_error_ && e.code() != "hub.stopped") first_error_ = e;
        stop_ = true;  // one failure stops the others (their partial files stay for resume)
    }

    // Emits progress ~5 times a second until every worker is done; forwards the caller's stop flag.
    void sample_until_done(int jobs) {
        std::deque<std::pair<Clock::time_point, uint64_t>> window;
        while (finished_workers_.load() < jobs) {
            if (req_.fetch.cancel && req_.fetch.cancel->load()) stop_ = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            uint64_t overall = 0;
            for (const auto& s : states_) overall += s->bytes;
            const auto now = Clock::now();
            window.emplace_back(now, overall);
            while (window.size() > 2 && now - window.front().first > std::chrono::seconds(3)) window.pop_front();
            const double span = std::chrono::duration<double>(now - window.front().first).count();
            const double speed = span > 0 ? double(overall - window.front().second) / span : 0;
            std::lock_guard<std::mutex> g(mu_);
            for (auto& s : states_) {
                if (!s->active || s->bytes == s->last_reported) continue;
                s->last_reported = s->bytes;
                ProgressSample p{s->file.path, s->bytes, s->file.size, overall, total_, speed,
                                 speed > 0 ? double(total_ - overall) / speed : -1};
                obs_.progress(p);
            }
        }
    }

    const HubClient& client_;
    const DownloadRequest& req_;
    DownloadObserver& obs_;
    const RepoCache& cache_;
    std::string commit_;
    std::vector<std::unique_ptr<FileState>> states_;
    uint64_t total_ = 0;
    std::atomic<size_t> next_{0};
    std::atomic<int> finished_workers_{0};
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::optional<Error> first_error_;
};

}  // namespace

std::string run_download(const HubClient& client, const DownloadRequest& req, DownloadObserver& observer) {
    validate_repo_id(req.repo);
    const RevisionInfo rev = client.resolve_revision(req.repo, req.revision);
    // Every name is validated (in list_files) before the first filesystem call below.
    const std::vector<RepoFile> files = plan_download(req.repo, client.list_files(req.repo, rev.commit), req.filter);
    const RepoCache cache(client.settings().cache_dir, req.repo);
    cache.create_dirs();
    cache.write_ref(req.revision, rev.commit);
    Run run(client, req, observer, cache, rev.commit, files);
    run.start_event();
    run.execute();
    return std::filesystem::absolute(cache.snapshot_dir(rev.commit)).lexically_normal().string();
}

}  // namespace moe::hub
