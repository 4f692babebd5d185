#include "hub/digest.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/error.h"

namespace moe::hub {

void Digest::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Digest::Digest(std::string_view kind) : ctx_(EVP_MD_CTX_new()) {
    const EVP_MD* md = kind == "sha1" ? EVP_sha1() : kind == "sha256" ? EVP_sha256() : nullptr;
    if (!md) throw Error("hub.internal", "", "unknown digest " + std::string(kind));
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1)
        throw Error("hub.internal", "", "OpenSSL could not start a " + std::string(kind) + " digest");
}

Digest::~Digest() = default;

void Digest::update(const void* data, size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw Error("hub.internal", "", "OpenSSL digest update failed");
}

std::string Digest::hex_digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw Error("hub.internal", "", "OpenSSL digest final failed");
    static const char* digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 0xf];
    }
    return hex;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hex_digest();
}

std::string git_blob_sha1_hex(std::string_view content) {
    Sha1 h;
    const std::string header = "blob " + std::to_string(content.size());
    h.update(header.data(), header.size() + 1);  // the header's terminating NUL is part of the id
    h.update(content.data(), content.size());
    return h.hex_digest();
}

std::string hash_file(const std::string& path, const std::string& kind) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("hub.io", path, std::string("cannot open to verify: ") + std::strerror(errno));
    struct Closer { int fd; ~Closer() { ::close(fd); } } closer{fd};
    const off_t size = ::lseek(fd, 0, SEEK_END);
    ::lseek(fd, 0, SEEK_SET);
    Sha256 s256;
    Sha1 s1;
    const bool git = kind == "git-sha1";
    if (git) {
        const std::string header = "blob " + std::to_string(size);
        s1.update(header.data(), header.size() + 1);
    }
    std::string buf(1 << 20, '\0');
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw Error("hub.io", path, std::string("read failed while verifying: ") + std::strerror(errno));
        if (n == 0) break;
        if (git) s1.update(buf.data(), size_t(n)); else s256.update(buf.data(), size_t(n));
    }
    return git ? s1.hex_digest() : s256.hex_digest();
}

}  // namespace moe::hub
