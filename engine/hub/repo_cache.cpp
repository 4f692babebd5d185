#include "hub/repo_cache.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "hub/repo_names.h"

namespace moe::hub {
namespace {

std::string parent_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

void write_file_atomically(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error("hub.io", tmp, std::string("cannot create: ") + std::strerror(errno));
    const bool ok = ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw Error(is_disk_full_errno(err) ? "hub.disk_full" : "hub.io", path, std::string("cannot write: ") + std::strerror(err));
    }
}

}  // namespace

bool is_disk_full_errno(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

void make_dirs(const std::string& dir) {
    if (dir.empty()) return;
    struct stat st{};
    if (::stat(dir.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return;
        throw Error("hub.io", dir, "exists but is not a directory");
    }
    make_dirs(parent_of(dir));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw Error(is_disk_full_errno(errno) ? "hub.disk_full" : "hub.io", dir, std::string("cannot create directory: ") + std::strerror(errno));
}

void fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

RepoCache::RepoCache(std::string cache_dir, const std::string& repo)
    : cache_dir_(std::move(cache_dir)), folder_(repo_folder_name(repo)) {
    validate_repo_id(repo);
}

void RepoCache::create_dirs() const {
    make_dirs(repo_dir() + "/blobs");
    make_dirs(repo_dir() + "/snapshots");
    make_dirs(repo_dir() + "/refs");
    make_dirs(cache_dir_ + "/.locks/" + folder_);
    const std::string tag = cache_dir_ + "/CACHEDIR.TAG";
    if (::access(tag.c_str(), F_OK) != 0) {
        try {
            write_file_atomically(tag, "Signature: 8a477f597d28d172789f06886806bc55\n"
                                       "# This file is a cache directory tag created by moe-engine (huggingface_hub layout).\n");
        } catch (const Error&) {
            // The tag only tells backup tools to skip the cache; a read-only root is no reason to fail.
        }
    }
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
    if (revision == commit) return;
    validate_revision(revision);
    const std::string path = repo_dir() + "/refs/" + revision;
    make_dirs(parent_of(path));  // "refs/pr/1" style names have folders
    write_file_atomically(path, commit);
}

void RepoCache::link_snapshot(const std::string& commit, const std::string& path, const std::string& id) const {
    const std::string link = snapshot_file(commit, path);
    make_dirs(parent_of(link));
    std::string target = "../../blobs/" + id;
    for (char c : path)
        if (c == '/') target = "../" + target;
    // symlink() is atomic by itself: the common case leaves no temporary name behind to be seen
    // (or orphaned by a kill -9) in the snapshot.
    if (::symlink(target.c_str(), link.c_str()) == 0) {
        fsync_dir(parent_of(link));
        return;
    }
    if (errno != EEXIST) throw Error("hub.io", link, std::string("cannot create the snapshot link: ") + std::strerror(errno));
    char existing[4096];
    const ssize_t n = ::readlink(link.c_str(), existing, sizeof existing - 1);
    if (n >= 0 && std::string(existing, size_t(n)) == target) return;
    // Another target (a file of an older download, or a copy): replace it atomically.
    const std::string tmp = link + ".tmp-link." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0)
        throw Error("hub.io", tmp, std::string("cannot create the snapshot link: ") + std::strerror(errno));
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("hub.io", link, std::string("cannot publish the snapshot link: ") + std::strerror(err));
    }
    fsync_dir(parent_of(link));
}

}  // namespace moe::hub
