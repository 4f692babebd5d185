// An output folder that appears whole or not at all: files are written into a temporary sibling
// ("<final>.partial-<pid>-<n>") and commit() renames it into place. A StagingDir destroyed without
// commit() (an error, an exception) removes its temporary folder, so nothing is left half-written
// under the final name. Checkpoints, `grad` outputs and exports use it.
#pragma once

#include <string>

namespace moe {

class StagingDir {
public:
    // `final_path` must not exist, or be an empty folder (replaced by the rename), unless
    // `replace` is true (a whole existing folder is then swapped out: checkpoints being rewritten).
    // Throws io.output_exists / io.write_failed naming the path.
    explicit StagingDir(std::string final_path, bool replace = false);
    ~StagingDir();
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;

    const std::string& path() const { return tmp_; }  // where to write now
    std::string file(const std::string& name) const { return tmp_ + "/" + name; }
    // Syncs and renames the folder into place. Throws io.write_failed.
    void commit();

private:
    std::string final_, tmp_;
    bool replace_ = false, committed_ = false;
};

// Writes `text` to `path` atomically (temporary file, fsync, rename). Throws io.write_failed.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace moe
