// huggingface_hub's cache layout for one repository, so models either tool fetched are found by both:
//   <cache>/models--org--name/blobs/<sha256 or git sha1>          content, only ever a verified file
//   <cache>/models--org--name/blobs/<id>.incomplete               a download in progress (resumable)
//   <cache>/models--org--name/snapshots/<commit>/<path>           relative symlink -> ../../blobs/<id>
//   <cache>/models--org--name/refs/<revision>                     the commit sha, written atomically
//   <cache>/.locks/models--org--name/<id>.lock                    one writer per blob (flock)
#pragma once

#include <string>

namespace moe::hub {

class RepoCache {
public:
    RepoCache(std::string cache_dir, const std::string& repo);

    const std::string& cache_dir() const { return cache_dir_; }
    std::string repo_dir() const { return cache_dir_ + "/" + folder_; }
    std::string blob_path(const std::string& id) const { return repo_dir() + "/blobs/" + id; }
    std::string incomplete_path(const std::string& id) const { return blob_path(id) + ".incomplete"; }
    std::string lock_path(const std::string& id) const { return cache_dir_ + "/.locks/" + folder_ + "/" + id + ".lock"; }
    std::string snapshot_dir(const std::string& commit) const { return repo_dir() + "/snapshots/" + commit; }
    // `path` must have passed validate_repo_filename.
    std::string snapshot_file(const std::string& commit, const std::string& path) const {
        return snapshot_dir(commit) + "/" + path;
    }

    // blobs/, snapshots/, refs/ and the lock folder; CACHEDIR.TAG at the cache root.
    void create_dirs() const;
    // refs/<revision> = commit (temp file + rename). Nothing when the revision is the commit itself.
    void write_ref(const std::string& revision, const std::string& commit) const;
    // snapshots/<commit>/<path> -> ../../blobs/<id> (relative, one more "../" per folder in path),
    // created under a temporary name and renamed over any old link.
    void link_snapshot(const std::string& commit, const std::string& path, const std::string& id) const;

private:
    std::string cache_dir_;
    std::string folder_;
};

// mkdir -p; throws moe::Error("hub.io") naming the directory.
void make_dirs(const std::string& dir);
// fsync of a directory so a rename in it survives a power cut.
void fsync_dir(const std::string& dir);
// Whether an error number means "no space left" (ENOSPC, EDQUOT, EFBIG from RLIMIT_FSIZE).
bool is_disk_full_errno(int err);

}  // namespace moe::hub
