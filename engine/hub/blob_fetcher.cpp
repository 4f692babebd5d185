#include "hub/blob_fetcher.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "core/error.h"
#include "hub/digest.h"
#include "hub/file_lock.h"
#include "hub/hub_errors.h"
#include "hub/http_request.h"

namespace moe::hub {
namespace {

// The .incomplete file, opened for positional writes; closed on scope exit.
class PartialFile {
public:
    explicit PartialFile(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw Error(is_disk_full_errno(errno) ? "hub.disk_full" : "hub.io", path,
                        std::string("cannot open the partial download: ") + std::strerror(errno));
    }
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;
    ~PartialFile() { if (fd_ >= 0) ::close(fd_); }

    uint64_t size() const {
        struct stat st{};
        if (::fstat(fd_, &st) != 0) throw Error("hub.io", path_, std::string("fstat failed: ") + std::strerror(errno));
        return uint64_t(st.st_size);
    }
    void truncate_to_zero() {
        if (::ftruncate(fd_, 0) != 0) throw Error("hub.io", path_, std::string("cannot truncate: ") + std::strerror(errno));
    }
    // Writes all of [data, data+n) at `offset`; returns 0 or the errno that stopped it.
    int write_at(const char* data, size_t n, uint64_t offset) {
        while (n > 0) {
            const ssize_t w = ::pwrite(fd_, data, n, off_t(offset));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return errno;
            if (w == 0) return ENOSPC;
            data += w;
            n -= size_t(w);
            offset += uint64_t(w);
        }
        return 0;
    }
    int sync() { return ::fsync(fd_) == 0 ? 0 : errno; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

// What one HTTP attempt left behind.
struct Attempt {
    HttpResult http;
    uint64_t received = 0;          // bytes written during this attempt
    bool restarted = false;         // the server ignored Range (200): the file was truncated to 0
    std::string range_problem;      // a 206 whose Content-Range did not match: the file is reset
    int write_errno = 0;            // a failed write (disk full, ...)
    bool overflow = false;          // more bytes than the listing's size
};

Attempt transfer(const std::string& url, const std::string& token, PartialFile& part, uint64_t& offset,
                 uint64_t size, const FetchOptions& opt, const FetchCallbacks& cb) {
    Attempt a;
    HttpRequest req;
    req.url = url;
    req.token = token;
    req.stall_seconds = opt.stall_seconds;
    req.cancel = opt.cancel;
    if (offset > 0) req.range_start = offset;
    req.on_head = [&](const HttpHead& head) {
        if (head.status == 206 && offset > 0) {
            uint64_t start = 0;
            int64_t total = -1;
            if (!parse_content_range(head.header("content-range"), &start, &total) || start != offset ||
                (total >= 0 && uint64_t(total) != size)) {
                a.range_problem = "206 with Content-Range '" + head.header("content-range") + "' for a request from byte " +
                                  std::to_string(offset) + " of " + std::to_string(size);
                return false;
            }
            return true;
        }
        if (offset > 0) {  // 200 (or any other 2xx) to a Range request: the whole file follows
            part.truncate_to_zero();
            offset = 0;
            a.restarted = true;
        }
        return true;
    };
    req.on_body = [&](const char* data, size_t n) {
        if (offset + n > size) {
            a.overflow = true;
            return false;
        }
        if ((a.write_errno = part.write_at(data, n, offset)) != 0) return false;
        offset += n;
        a.received += n;
        if (cb.progress) cb.progress(offset);
        return true;
    };
    a.http = http_get(req);
    return a;
}

// Why an attempt did not finish the file, in words for the retry event.
std::string failure_reason(const Attempt& a, long stall_seconds) {
    if (!a.range_problem.empty()) return "bad range answer: " + a.range_problem;
    if (a.overflow) return "the server sent more bytes than the listed size";
    if (a.http.stalled)
        return "stalled: no bytes for " + std::to_string(stall_seconds) + " s, reconnecting";
    if (a.http.curl_code != 0) return "transfer error: " + a.http.curl_error;
    if (a.http.head.status == 416) return "HTTP 416 for a resume from the partial file's size: restarting from byte 0";
    if (a.http.head.status >= 300) return "HTTP " + std::to_string(a.http.head.status);
    return "the body ended early (truncated response)";
}

void sleep_unless_cancelled(double seconds, const std::atomic<bool>* cancel) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (cancel && cancel->load()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

[[noreturn]] void throw_stopped(const std::string& path) {
    throw Error("hub.stopped", path, "download stopped; the partial file is kept for resume");
}

// Downloads into `part` until it holds `file.size` bytes (or throws).
void download_bytes(const HubClient& client, const std::string& repo, const std::string& url, PartialFile& part,
                    const RepoFile& file, const FetchOptions& opt, const FetchCallbacks& cb) {
    uint64_t offset = part.size();
    if (offset > file.size) {
        part.truncate_to_zero();
        offset = 0;
    }
    int fruitless = 0;  // attempts in a row that brought no new byte
    while (offset < file.size) {
        if (opt.cancel && opt.cancel->load()) throw_stopped(part.path());
        const uint64_t offset_before = offset;
        Attempt a = transfer(url, client.settings().token, part, offset, file.size, opt, cb);
        if (a.http.cancelled) throw_stopped(part.path());
        if (a.write_errno != 0)
            throw Error(is_disk_full_errno(a.write_errno) ? "hub.disk_full" : "hub.io", part.path(),
                        std::string("cannot write the download (") + std::strerror(a.write_errno) +
                            "); the partial file is kept, free some space and run the download again to resume");
        if (a.restarted && cb.retry) cb.retry(fruitless + 1, "server ignored the Range request (HTTP 200): restarting from byte 0", 0);
        if (!a.range_problem.empty() || a.overflow) {
            part.truncate_to_zero();
            offset = 0;
        }
        if (offset >= file.size && a.http.curl_code == 0) break;
        const bool unsatisfiable = a.http.curl_code == 0 && a.http.head.status == 416;
        if (unsatisfiable) {  // our offset is not in the server's file: start over (counted as an attempt)
            part.truncate_to_zero();
            offset = 0;
        }
        const bool http_error = a.http.curl_code == 0 && a.http.head.status >= 300 && !unsatisfiable;
        if (http_error && !is_retryable(a.http)) throw http_failure(a.http, a.http.head.url, repo, "file '" + file.path + "'");
        // Progress is the file growing, not bytes received: a server that restarts us at 0 every time
        // (or overflows, or resets at the same offset) must not keep us busy forever.
        fruitless = offset > offset_before ? 1 : fruitless + 1;
        const double retry_after = retry_after_seconds(a.http.head);
        if (retry_after > opt.retry.max_retry_after)
            throw http_failure(a.http, a.http.head.url, repo, "file '" + file.path + "' (Retry-After " + std::to_string(int(retry_after)) + " s)");
        if (fruitless >= opt.retry.max_attempts) {
            if (http_error) throw http_failure(a.http, a.http.head.url, repo, "file '" + file.path + "'");
            throw Error("hub.network", url, "gave up on '" + file.path + "' after " + std::to_string(fruitless) +
                                                " attempts without progress: " + failure_reason(a, opt.stall_seconds) +
                                                "; the partial file is kept for resume");
        }
        const double wait = opt.retry.wait_seconds(fruitless, retry_after);
        if (cb.retry) cb.retry(fruitless, failure_reason(a, opt.stall_seconds), wait);
        sleep_unless_cancelled(wait, opt.cancel);
    }
    if (const int err = part.sync(); err != 0)
        throw Error(is_disk_full_errno(err) ? "hub.disk_full" : "hub.io", part.path(), std::string("fsync failed: ") + std::strerror(err));
}

}  // namespace

bool parse_content_range(const std::string& value, uint64_t* start, int64_t* total) {
    unsigned long long a = 0, b = 0;
    char tail[32] = {0};
    if (std::sscanf(value.c_str(), "bytes %llu-%llu/%31s", &a, &b, tail) != 3 || b < a) return false;
    *start = a;
    if (std::strcmp(tail, "*") == 0) {
        *total = -1;
        return true;
    }
    char* end = nullptr;
    const unsigned long long t = std::strtoull(tail, &end, 10);
    if (end == tail || *end != '\0' || t <= b) return false;
    *total = int64_t(t);
    return true;
}

FetchOutcome fetch_file(const HubClient& client, const RepoCache& cache, const std::string& repo,
                        const std::string& commit, const RepoFile& file, const FetchOptions& opt,
                        const FetchCallbacks& cb) {
    const std::string id = file.blob_id();
    if (id.empty()) throw Error("hub.bad_listing", repo, "file '" + file.path + "' has no hash in the listing; cannot verify it");
    const std::string kind = file.sha256 ? "sha256" : "git-sha1";
    const std::string blob = cache.blob_path(id);

    FileLock lock = FileLock::acquire(cache.lock_path(id), opt.lock_timeout_s, opt.cancel, cb.waiting_for_lock);
    struct stat st{};
    if (::stat(blob.c_str(), &st) == 0 && uint64_t(st.st_size) == file.size) {
        cache.link_snapshot(commit, file.path, id);  // verified when it was published (by us or another tool)
        return FetchOutcome::AlreadyCached;
    }
    const std::string url = client.file_url(repo, commit, file.path);
    for (int fetches = 1;; ++fetches) {
        {
            PartialFile part(cache.incomplete_path(id));
            download_bytes(client, repo, url, part, file, opt, cb);
        }
        const std::string got = hash_file(cache.incomplete_path(id), kind);
        if (got == id) break;
        // Same size, wrong bytes: the partial file is worthless, also for a later resume.
        ::unlink(cache.incomplete_path(id).c_str());
        if (fetches >= 2)
            throw Error("hub.verify_failed", url, "'" + file.path + "' failed verification twice: expected " + kind + " " + id +
                                                      ", got " + got + "; nothing was published");
        if (cb.retry) cb.retry(fetches, kind + " mismatch (expected " + id + ", got " + got + "): fetching the file again", 0);
    }
    if (::rename(cache.incomplete_path(id).c_str(), blob.c_str()) != 0)
        throw Error("hub.io", blob, std::string("cannot publish the verified blob: ") + std::strerror(errno));
    fsync_dir(cache.repo_dir() + "/blobs");
    cache.link_snapshot(commit, file.path, id);
    return FetchOutcome::Downloaded;
}

}  // namespace moe::hub
