#include "hub/file_lock.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

#include "core/error.h"

namespace moe::hub {

FileLock FileLock::acquire(const std::string& path, double timeout_s, const std::atomic<bool>* cancel,
                           const std::function<void()>& on_wait) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd < 0) throw Error("hub.io", path, std::string("cannot open the lock file: ") + std::strerror(errno));
    FileLock lock(fd, path);  // closes fd on any throw below
    const auto start = std::chrono::steady_clock::now();
    bool told = false;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            throw Error("hub.io", path, std::string("flock failed: ") + std::strerror(errno));
        if (!told && on_wait) on_wait();
        told = true;
        if (cancel && cancel->load()) throw Error("hub.stopped", path, "stopped while waiting for the lock");
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (timeout_s >= 0 && waited >= timeout_s)
            throw Error("hub.locked", path,
                        "another download of this file (another moe-engine or huggingface_hub process) holds the lock; "
                        "waited " + std::to_string(int(waited)) + " s");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return lock;
}

FileLock::~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace moe::hub
