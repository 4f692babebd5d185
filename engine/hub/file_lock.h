// One writer per blob: an exclusive flock on <cache>/.locks/models--org--name/<id>.lock, the same
// file huggingface_hub locks, so our downloader and theirs never write the same .incomplete at once.
// The lock dies with the process (kill -9 included); the lock file itself stays, as theirs does.
#pragma once

#include <atomic>
#include <functional>
#include <string>

namespace moe::hub {

class FileLock {
public:
    // Waits up to timeout_s (< 0: forever), calling on_wait once when another process holds it.
    // Throws moe::Error("hub.locked") on timeout, "hub.stopped" when `cancel` is set while waiting.
    static FileLock acquire(const std::string& path, double timeout_s, const std::atomic<bool>* cancel,
                            const std::function<void()>& on_wait);
    FileLock(FileLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
    FileLock& operator=(FileLock&&) = delete;
    FileLock(const FileLock&) = delete;
    ~FileLock();

private:
    FileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
};

}  // namespace moe::hub
