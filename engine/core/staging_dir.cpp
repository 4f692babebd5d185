#include "core/staging_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace moe {

namespace fs = std::filesystem;

namespace {
std::string unique_sibling(const std::string& path, const char* what) {
    static std::atomic<uint64_t> counter{0};
    return path + "." + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

void sync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;  // best effort for folders on filesystems that refuse
    ::fsync(fd);
    ::close(fd);
}
}  // namespace

StagingDir::StagingDir(std::string final_path, bool replace) : final_(std::move(final_path)), replace_(replace) {
    std::error_code ec;
    if (!replace_ && fs::exists(final_, ec) && !(fs::is_directory(final_, ec) && fs::is_empty(final_, ec)))
        throw Error("io.output_exists", final_,
                    "the output folder exists and is not empty; choose another or remove it first");
    const fs::path parent = fs::path(final_).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    tmp_ = unique_sibling(final_, "partial");
    if (!fs::create_directory(tmp_, ec))
        throw Error("io.write_failed", tmp_, "cannot create the folder: " + ec.message());
}

StagingDir::~StagingDir() {
    if (committed_) return;
    std::error_code ec;
    fs::remove_all(tmp_, ec);
}

void StagingDir::commit() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(tmp_, ec)) sync_path(entry.path().string());
    sync_path(tmp_);
    std::string old;
    if (replace_ && fs::exists(final_, ec) && !(fs::is_directory(final_, ec) && fs::is_empty(final_, ec))) {
        old = unique_sibling(final_, "old");  // moved aside, removed after the new one is in place
        fs::rename(final_, old, ec);
        if (ec) throw Error("io.write_failed", final_, "cannot move the previous folder aside: " + ec.message());
    }
    fs::rename(tmp_, final_, ec);
    if (ec) throw Error("io.write_failed", final_, "cannot rename " + tmp_ + " to it: " + ec.message());
    committed_ = true;
    const fs::path parent = fs::path(final_).parent_path();
    sync_path(parent.empty() ? "." : parent.string());
    if (!old.empty()) fs::remove_all(old, ec);
}

void write_file_atomic(const std::string& path, const std::string& text) {
    const std::string tmp = unique_sibling(path, "partial");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("io.write_failed", tmp, std::string("cannot create the file: ") + std::strerror(errno));
        out << text;
        out.flush();
        if (!out) throw Error("io.write_failed", tmp, "cannot write the file");
    }
    sync_path(tmp);
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error("io.write_failed", path, "cannot rename " + tmp + " to it");
    }
}

}  // namespace moe
