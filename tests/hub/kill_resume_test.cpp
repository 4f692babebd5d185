// kill -9 of `moe-engine download` at random moments, then resume: >= 50 trials with a fixed, printed
// seed (MOE_HUB_KILL_SEED / MOE_HUB_KILL_TRIALS override). The hub is throttled so kills land mid-file.
// After every kill: whatever is visible at the snapshot path, and every blob without ".incomplete",
// has exactly the hash the fake hub computed (OpenSSL) — nothing unverified is ever visible.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "hub/digest.h"
#include "hub_test_support.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRepo = "moe-test/tiny-deepseek";

struct Invariants {
    size_t visible = 0;       // files at the snapshot path
    size_t partial_bytes = 0; // bytes in .incomplete files (a kill that landed mid-file leaves some)
};

// Checks what a killed run left behind; returns what it saw.
Invariants check_cache(const std::string& repo_dir, const std::map<std::string, json>& listing) {
    Invariants inv;
    std::error_code ec;
    for (const auto& snap : fs::directory_iterator(repo_dir + "/snapshots", ec)) {
        for (const auto& entry : fs::recursive_directory_iterator(snap.path())) {
            if (entry.is_directory()) continue;
            const std::string rel = entry.path().lexically_relative(snap.path()).string();
            ++inv.visible;
            EXPECT_TRUE(fs::is_symlink(entry.symlink_status())) << rel;
            if (!listing.count(rel)) {
                ADD_FAILURE() << "unexpected file in the snapshot: " << rel;
                continue;
            }
            const json& info = listing.at(rel);
            if (info["sha256"].is_string()) {
                EXPECT_EQ(sha256_file_hex(entry.path().string()), info["sha256"].get<std::string>()) << rel;
            } else {
                EXPECT_EQ(hub::hash_file(entry.path().string(), "git-sha1"), info["oid"].get<std::string>()) << rel;
            }
        }
    }
    for (const auto& blob : fs::directory_iterator(repo_dir + "/blobs", ec)) {
        const std::string name = blob.path().filename().string();
        if (name.size() > 11 && name.substr(name.size() - 11) == ".incomplete") {
            inv.partial_bytes += fs::file_size(blob.path());
            continue;
        }
        // A published blob is named by its own hash.
        if (name.size() == 64) {
            EXPECT_EQ(sha256_file_hex(blob.path().string()), name);
        } else {
            EXPECT_EQ(hub::hash_file(blob.path().string(), "git-sha1"), name);
        }
    }
    return inv;
}

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

TEST(HubKillResume, RandomKillsNeverPublishAnUnverifiedByte) {
    const int seed = env_int("MOE_HUB_KILL_SEED", 20261122);
    const int trials = env_int("MOE_HUB_KILL_TRIALS", 50);
    std::printf("kill -9 trials: %d, seed %d (set MOE_HUB_KILL_SEED to replay)\n", trials, seed);
    std::mt19937 rng{static_cast<uint32_t>(seed)};
    // The delay counts from the "resolved" line (transfers about to start), so a busy CI machine's slow
    // process start does not turn kills into kills-before-anything.
    std::uniform_int_distribution<int> delay_ms(0, 600);

    FakeHub hub;
    hub.faults({{{"match", "/cdn/"}, {"kind", "throttle"}, {"bps", 2000000}}});
    TempDir home;
    const auto env = hub_env(hub, home.path());
    const auto listing = hub_listing(hub, kRepo);
    const std::string repo_dir = home.path() + "/hub/models--moe-test--tiny-deepseek";
    int mid_file = 0, completed_cycles = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < trials; ++t) {
        {
            ChildProcess p({engine_bin(), "download", kRepo, "--json"}, env);
            for (std::string line; (line = p.read_line()) != "";)
                if (line.find("\"resolved\"") != std::string::npos) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
            p.signal(SIGKILL);
            p.wait();
        }
        const Invariants inv = check_cache(repo_dir, listing);
        if (inv.partial_bytes > 0) ++mid_file;
        if (inv.visible == 6) {  // this run finished before the kill: start a new cycle from nothing
            ++completed_cycles;
            fs::remove_all(home.path() + "/hub");
        }
        if (::testing::Test::HasFailure()) FAIL() << "invariant broken at trial " << t << " (seed " << seed << ")";
    }
    // The last cycle is completed by a run that is not killed; everything verifies.
    const DownloadRun final_run = run_engine({"download", kRepo}, env);
    ASSERT_EQ(final_run.status, 0);
    EXPECT_EQ(check_cache(repo_dir, listing).visible, 6u);
    size_t resumed = 0;
    for (const auto& e : hub.log())
        if (e["range"].get<std::string>().rfind("bytes=", 0) == 0 && e["range"] != "bytes=0-") ++resumed;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("kills mid-file: %d of %d, cycles completed between kills: %d, resumed requests: %zu, %.1f s\n", mid_file,
                trials, completed_cycles, resumed, secs);
    EXPECT_GE(mid_file, trials / 2) << "the throttle should make most kills land mid-file";
    EXPECT_GE(resumed, size_t(trials / 4)) << "later runs should resume with Range";
}

}  // namespace
}  // namespace moe::test
