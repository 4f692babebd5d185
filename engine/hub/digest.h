// Streaming SHA-256 and SHA-1 for verifying downloaded files, on OpenSSL's EVP interface (libcrypto
// is already a dependency of libcurl; tests/hub/digest_test.cpp checks the FIPS vectors and git
// blob ids). SHA-1 is only used for what the hub names with it: the git blob id of small non-LFS
// files (sha1("blob <size>\0" + content)).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace moe::hub {

// One running hash. kind: "sha256" or "sha1".
class Digest {
public:
    explicit Digest(std::string_view kind);
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;
    void update(const void* data, size_t size);
    std::string hex_digest();  // finishes the hash; call once

private:
    struct CtxFree {
        void operator()(evp_md_ctx_st* ctx) const;
    };
    std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

class Sha256 : public Digest {
public:
    Sha256() : Digest("sha256") {}
};

class Sha1 : public Digest {
public:
    Sha1() : Digest("sha1") {}
};

std::string sha256_hex(std::string_view data);
// The id git (and the hub's tree listing, "oid") gives a regular file: sha1("blob <size>\0" + content).
std::string git_blob_sha1_hex(std::string_view content);

// Hashes a file on disk. kind "sha256": plain SHA-256; "git-sha1": the git blob id.
// Throws moe::Error("hub.io") naming the file when it cannot be read.
std::string hash_file(const std::string& path, const std::string& kind);

}  // namespace moe::hub
