// A fresh directory under the system temp dir (mkdtemp), removed with its contents on destruction.
// Shared by every test area that writes files.
#pragma once

#include <string>

namespace moe::test {

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "moe-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace moe::test
