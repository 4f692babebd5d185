// engine/hub/digest: FIPS 180 test vectors, and agreement with coreutils (sha256sum, sha1sum) and
// git's blob ids on data that crosses block boundaries.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

#include "hub/digest.h"
#include "hub_test_support.h"

namespace moe::hub {
namespace {

std::string run(const std::string& cmd) {
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    return out;
}

TEST(HubDigest, Sha256FipsVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HubDigest, Sha1VectorsAndGitBlobIds) {
    Sha1 h;
    h.update("abc", 3);
    EXPECT_EQ(h.hex_digest(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    // `git hash-object` of an empty file and of "hello\n" (well-known ids).
    EXPECT_EQ(git_blob_sha1_hex(""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    EXPECT_EQ(git_blob_sha1_hex("hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST(HubDigest, FilesAgreeWithCoreutilsAcrossBlockBoundaries) {
    test::TempDir dir;
    std::mt19937 rng(7);
    for (size_t size : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u, (1u << 20) + 3}) {
        std::string data(size, '\0');
        for (auto& c : data) c = char(rng());
        const std::string path = dir.path() + "/f" + std::to_string(size);
        std::ofstream(path, std::ios::binary) << data;
        EXPECT_EQ(hash_file(path, "sha256"), run("sha256sum " + path).substr(0, 64)) << "size " << size;
        EXPECT_EQ(sha256_hex(data), hash_file(path, "sha256"));
        // git blob id = sha1 of "blob <n>\0" + data, computed here by sha1sum over that exact byte string.
        const std::string blob_path = path + ".blob";
        std::ofstream(blob_path, std::ios::binary) << "blob " << size << '\0' << data;
        EXPECT_EQ(hash_file(path, "git-sha1"), run("sha1sum " + blob_path).substr(0, 40)) << "size " << size;
    }
}

}  // namespace
}  // namespace moe::hub
