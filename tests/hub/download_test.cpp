// `moe-engine download --json` as a child process against the fake hub, one fault at a time.
// Every successful run is checked the same way: each file at the snapshot path is a relative link
// into blobs/, and its sha256 (coreutils) / git id equals what the fake hub computed with OpenSSL.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "hub/digest.h"
#include "hub_test_support.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRepo = "moe-test/tiny-deepseek";
constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
constexpr const char* kShard2 = "model-00002-of-00002.safetensors";

class HubDownload : public ::testing::Test {
protected:
    FakeHub hub;
    TempDir home;
    std::string repo_dir() const { return home.path() + "/hub/models--moe-test--tiny-deepseek"; }
    DownloadRun download(std::vector<std::string> extra = {}, const std::string& token = "", long fsize = 0) {
        std::vector<std::string> args = {"download", kRepo};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_engine(args, hub_env(hub, home.path(), token), fsize);
    }
    // Every selected file is published, verified against the hub's own hashes.
    void expect_verified_snapshot(const DownloadRun& run) {
        ASSERT_EQ(run.status, 0) << (run.last("error") ? run.last("error")->dump() : "no error event");
        const std::string snapshot = run.last("done")->at("snapshot");
        size_t checked = 0;
        for (const auto& [path, info] : hub_listing(hub, kRepo)) {
            const std::string p = snapshot + "/" + path;
            if (path == "README.md" || path == ".gitattributes" || path.find(".bin") != std::string::npos) {
                EXPECT_FALSE(fs::exists(fs::symlink_status(p))) << path << " should not be downloaded";
                continue;
            }
            ASSERT_TRUE(fs::is_symlink(p)) << path;
            EXPECT_EQ(fs::read_symlink(p).string().rfind("../../blobs/", 0), 0u) << "relative link expected: " << path;
            if (info["sha256"].is_string()) {
                EXPECT_EQ(sha256_file_hex(p), info["sha256"].get<std::string>()) << path;
            } else {
                EXPECT_EQ(hub::hash_file(p, "git-sha1"), info["oid"].get<std::string>()) << path;
            }
            ++checked;
        }
        EXPECT_EQ(checked, 6u);
    }
    size_t count_log(const std::string& needle, const std::string& field = "path") const {
        size_t n = 0;
        for (const auto& e : hub.log())
            if (e[field].get<std::string>().find(needle) != std::string::npos) ++n;
        return n;
    }
};

TEST_F(HubDownload, FetchesVerifiesAndPublishesTheHubCacheLayout) {
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    const auto* resolved = run.last("resolved");
    ASSERT_NE(resolved, nullptr);
    const std::string commit = resolved->at("revision");
    EXPECT_EQ(commit.size(), 40u);
    EXPECT_EQ(read_file(repo_dir() + "/refs/main"), commit);  // huggingface_hub's refs/<branch>
    EXPECT_EQ(run.last("done")->at("snapshot").get<std::string>(), fs::absolute(repo_dir() + "/snapshots/" + commit).string());
    EXPECT_EQ(run.of("file_done").size(), 6u);
    for (const auto& e : fs::directory_iterator(repo_dir() + "/blobs"))
        EXPECT_EQ(e.path().extension(), "") << "left over: " << e.path();  // no .incomplete after success
    EXPECT_TRUE(fs::exists(home.path() + "/hub/.locks/models--moe-test--tiny-deepseek"));
    // Every file came from /resolve/<commit>/..., never from a moving branch name.
    for (const auto& e : hub.log()) {
        if (e["path"].get<std::string>().find("/resolve/") != std::string::npos) {
            EXPECT_NE(e["path"].get<std::string>().find("/resolve/" + commit + "/"), std::string::npos);
        }
    }
    // A second run finds everything in the cache and transfers nothing.
    hub.reset();
    const DownloadRun again = download();
    EXPECT_EQ(again.status, 0);
    EXPECT_EQ(again.last("resolved")->at("already_bytes"), again.last("resolved")->at("total_bytes"));
    EXPECT_EQ(count_log("/resolve/") + count_log("/cdn/"), 0u);
}

TEST_F(HubDownload, TheTokenNeverReachesTheCdnHost) {
    const DownloadRun run = download({}, "hf_secret_user_token");
    const json log = hub.log();  // before the checks below add the test's own (token-less) requests
    expect_verified_snapshot(run);
    size_t cdn = 0, api = 0;
    for (const auto& e : log) {
        const std::string host = e["host"], auth = e["authorization"];
        if (host.rfind("localhost:", 0) == 0) {
            ++cdn;
            EXPECT_EQ(auth, "") << "token sent to the CDN host for " << e["path"];
        } else {
            ++api;
            EXPECT_EQ(auth, "Bearer hf_secret_user_token") << e["path"];
        }
    }
    EXPECT_EQ(cdn, 2u);  // the two LFS shards were redirected to localhost
    EXPECT_GT(api, 0u);
}

TEST_F(HubDownload, ResumesAfterAConnectionReset) {
    hub.faults({{{"match", kShard1}, {"kind", "reset"}, {"at", 1000000}, {"times", 1}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    ASSERT_FALSE(run.of("retry").empty());
    bool resumed = false;
    for (const auto& e : hub.log())
        resumed = resumed || e["range"] == "bytes=1000000-";
    EXPECT_TRUE(resumed) << "the second request should resume at the reset offset";
}

TEST_F(HubDownload, ResumesAfterATruncatedBody) {
    hub.faults({{{"match", kShard2}, {"kind", "truncate"}, {"at", 777777}, {"times", 1}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    bool resumed = false;
    for (const auto& e : hub.log()) resumed = resumed || e["range"] == "bytes=777777-";
    EXPECT_TRUE(resumed);
    ASSERT_FALSE(run.of("retry").empty());
    EXPECT_NE(run.of("retry")[0]["reason"].get<std::string>().find("truncated"), std::string::npos);
}

TEST_F(HubDownload, ReconnectsAfterAStall) {
    hub.faults({{{"match", kShard1}, {"kind", "stall"}, {"at", 500000}, {"seconds", 10}, {"times", 1}}});
    const auto start = std::chrono::steady_clock::now();
    const DownloadRun run = download({"--stall-timeout", "1"});
    expect_verified_snapshot(run);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8)) << "should not wait the 10 s stall out";
    bool stalled = false;
    for (const auto& r : run.of("retry")) stalled = stalled || r["reason"].get<std::string>().find("stalled") != std::string::npos;
    EXPECT_TRUE(stalled);
}

TEST_F(HubDownload, RestartsFromZeroWhenTheServerIgnoresRange) {
    // First request dies at 1 MB; the resume is answered with 200 + the whole file: must restart, not append.
    hub.faults({{{"match", kShard1}, {"kind", "reset"}, {"at", 1048576}, {"times", 1}},
                {{"match", "/cdn/"}, {"kind", "ignore_range"}, {"times", -1}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    bool restarted = false;
    for (const auto& r : run.of("retry")) restarted = restarted || r["reason"].get<std::string>().find("HTTP 200") != std::string::npos;
    EXPECT_TRUE(restarted);
}

TEST_F(HubDownload, RejectsA206WhoseContentRangeDoesNotMatch) {
    // The resume at 1 MB is answered "206 bytes 0-.../size" with the file from byte 0: appending it
    // would corrupt the file; the client must throw the partial away and start again.
    hub.faults({{{"match", kShard1}, {"kind", "reset"}, {"at", 1048576}, {"times", 1}},
                {{"match", "/cdn/"}, {"kind", "wrong_range"}, {"times", 1}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    bool rejected = false;
    for (const auto& r : run.of("retry")) rejected = rejected || r["reason"].get<std::string>().find("bad range answer") != std::string::npos;
    EXPECT_TRUE(rejected);
}

TEST_F(HubDownload, GivesUpWhenNoProgressIsPossible) {
    // Every response dies at 1 MB and every resume restarts at 0: the file never grows past 1 MB.
    hub.faults({{{"match", kShard1}, {"kind", "reset"}, {"at", 1048576}, {"times", -1}},
                {{"match", "/cdn/"}, {"kind", "ignore_range"}, {"times", -1}}});
    const DownloadRun run = download({"--retries", "4"});
    EXPECT_EQ(run.status, 1);
    EXPECT_EQ(run.error_code(), "hub.network");
    EXPECT_NE(run.last("error")->at("message").get<std::string>().find("without progress"), std::string::npos);
    EXPECT_LE(run.of("retry").size(), 8u);
}

TEST_F(HubDownload, SameSizeCorruptionIsDetectedAndRefetched) {
    hub.faults({{{"match", kShard2}, {"kind", "corrupt"}, {"times", 1}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    bool mismatch = false;
    for (const auto& r : run.of("retry")) mismatch = mismatch || r["reason"].get<std::string>().find("sha256 mismatch") != std::string::npos;
    EXPECT_TRUE(mismatch);
    EXPECT_EQ(count_log(std::string("/cdn/") + hub_listing(hub, kRepo).at(kShard2)["sha256"].get<std::string>()), 2u);  // fetched twice
}

TEST_F(HubDownload, CorruptionTwiceIsAClearErrorAndNothingIsPublished) {
    hub.faults({{{"match", kShard2}, {"kind", "corrupt"}, {"times", -1}}});
    const DownloadRun run = download();
    EXPECT_NE(run.status, 0);
    EXPECT_EQ(run.error_code(), "hub.verify_failed");
    EXPECT_NE(run.last("error")->at("message").get<std::string>().find(kShard2), std::string::npos);
    const auto listing = hub_listing(hub, kRepo);
    const std::string sha = listing.at(kShard2)["sha256"];
    EXPECT_FALSE(fs::exists(repo_dir() + "/blobs/" + sha));
    for (const auto& snap : fs::directory_iterator(repo_dir() + "/snapshots"))
        EXPECT_FALSE(fs::exists(fs::symlink_status(snap.path() / kShard2)));
}

TEST_F(HubDownload, RateLimitHonoursRetryAfter) {
    hub.faults({{{"match", kShard1}, {"kind", "status"}, {"status", 429}, {"retry_after", 1}, {"times", 1}}});
    const auto start = std::chrono::steady_clock::now();
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
    ASSERT_EQ(run.of("retry").size(), 1u);
    EXPECT_EQ(run.of("retry")[0]["wait_s"].get<double>(), 1.0);
    EXPECT_NE(run.of("retry")[0]["reason"].get<std::string>().find("429"), std::string::npos);
}

TEST_F(HubDownload, ServerErrorsAreRetriedWithBackoff) {
    hub.faults({{{"match", kShard2}, {"kind", "status"}, {"status", 503}, {"times", 2}}});
    const DownloadRun run = download();
    expect_verified_snapshot(run);
    ASSERT_EQ(run.of("retry").size(), 2u);
    EXPECT_GT(run.of("retry")[1]["wait_s"].get<double>(), 0.0);
}

TEST_F(HubDownload, UnauthorizedGatedAndNotFoundAreClearErrors) {
    const DownloadRun no_token = run_engine({"download", "moe-test/gated-model"}, hub_env(hub, home.path()));
    EXPECT_EQ(no_token.status, 1);
    EXPECT_EQ(no_token.error_code(), "hub.gated");
    EXPECT_NE(no_token.last("error")->at("message").get<std::string>().find("accept its licence"), std::string::npos);
    EXPECT_NE(no_token.last("error")->at("message").get<std::string>().find("HF_TOKEN"), std::string::npos);
    const DownloadRun other = run_engine({"download", "moe-test/gated-model"}, hub_env(hub, home.path(), "hf_other"));
    EXPECT_EQ(other.error_code(), "hub.gated");
    const DownloadRun good = run_engine({"download", "moe-test/gated-model"}, hub_env(hub, home.path(), "hf_fake_good"));
    EXPECT_EQ(good.status, 0);
    const DownloadRun bad = run_engine({"download", kRepo}, hub_env(hub, home.path(), "hf_fake_invalid"));
    EXPECT_EQ(bad.error_code(), "hub.unauthorized");
    EXPECT_NE(bad.last("error")->at("message").get<std::string>().find("Invalid credentials"), std::string::npos);
    EXPECT_EQ(run_engine({"download", "moe-test/no-such-model"}, hub_env(hub, home.path())).error_code(), "hub.not_found");
    EXPECT_EQ(download({"--revision", "no-such-branch"}).error_code(), "hub.not_found");
    hub.faults({{{"match", "tokenizer.json"}, {"kind", "status"}, {"status", 404}, {"error_code", "EntryNotFound"}, {"times", 1}}});
    EXPECT_EQ(download().error_code(), "hub.not_found");
}

TEST_F(HubDownload, PickleOnlyRepositoryIsRefusedWithTheFilesNamed) {
    const DownloadRun run = run_engine({"download", "moe-test/pickle-only"}, hub_env(hub, home.path()));
    EXPECT_EQ(run.status, 1);
    EXPECT_EQ(run.error_code(), "hub.pickle_only");
    const std::string msg = run.last("error")->at("message");
    EXPECT_NE(msg.find("pytorch_model-00001-of-00002.bin"), std::string::npos);
    EXPECT_NE(msg.find("pytorch_model-00002-of-00002.bin"), std::string::npos);
}

TEST_F(HubDownload, HostileNamesAreRefusedBeforeAnyFilesystemCall) {
    const json names = hub.get_json("/_control/hostile");
    ASSERT_GE(names.size(), 20u);
    for (size_t i = 0; i < names.size(); ++i) {
        const DownloadRun run = run_engine({"download", "moe-test/hostile-" + std::to_string(i)}, hub_env(hub, home.path()));
        EXPECT_EQ(run.status, 1) << i;
        EXPECT_EQ(run.error_code(), "hub.bad_filename") << "name " << i << ": " << names[i].dump();
        // Not even the cache folder was created: the listing is validated before the first mkdir.
        EXPECT_FALSE(fs::exists(home.path() + "/hub")) << "name " << i;
    }
    EXPECT_FALSE(fs::exists("/tmp/evil.json"));
}

// Index of the first and last progress line of `file` (-1 when none).
struct Span {
    long first = -1, last = -1;
};

Span progress_span(const DownloadRun& run, const std::string& file) {
    long first = -1, last = -1;
    for (size_t i = 0; i < run.events.size(); ++i) {
        if (run.events[i].value("event", "") != "progress" || run.events[i]["file"] != file) continue;
        if (first < 0) first = long(i);
        last = long(i);
    }
    return Span{first, last};
}

TEST_F(HubDownload, ParallelDownloadsOverlapInTime) {
    // Judged by the order of progress lines, not by wall-clock time (CI machines are busy).
    hub.faults({{{"match", "/cdn/"}, {"kind", "throttle"}, {"bps", 3000000}}});
    const auto start = std::chrono::steady_clock::now();
    const DownloadRun run = download({"--jobs", "4"});
    const double parallel = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    expect_verified_snapshot(run);
    const auto a = progress_span(run, kShard1), b = progress_span(run, kShard2);
    ASSERT_GE(a.first, 0);
    ASSERT_GE(b.first, 0);
    EXPECT_TRUE(a.first < b.last && b.first < a.last) << "the two shards should be in flight together";
    TempDir other;
    const auto start1 = std::chrono::steady_clock::now();
    const DownloadRun serial = run_engine({"download", kRepo, "--jobs", "1"}, hub_env(hub, other.path()));
    const double one = std::chrono::duration<double>(std::chrono::steady_clock::now() - start1).count();
    ASSERT_EQ(serial.status, 0);
    const auto sa = progress_span(serial, kShard1), sb = progress_span(serial, kShard2);
    EXPECT_TRUE(sa.last < sb.first || sb.last < sa.first) << "--jobs 1 transfers one file at a time";
    std::printf("parallel (4 jobs) %.2f s, serial (1 job) %.2f s\n", parallel, one);
}

TEST_F(HubDownload, HonoursHfHubCacheAndApiRateLimits) {
    const std::string custom = home.path() + "/elsewhere";
    auto env = hub_env(hub, home.path());
    env.push_back("HF_HUB_CACHE=" + custom);
    // The API itself answers 429 once: the listing call waits Retry-After and goes on.
    hub.faults({{{"match", "/tree/"}, {"kind", "status"}, {"status", 429}, {"retry_after", 1}, {"times", 1}}});
    const DownloadRun run = run_engine({"download", kRepo, "--include", "config.json"}, env);
    ASSERT_EQ(run.status, 0);
    EXPECT_EQ(run.last("done")->at("snapshot").get<std::string>().rfind(custom + "/models--moe-test--tiny-deepseek/snapshots/", 0), 0u);
    EXPECT_FALSE(fs::exists(home.path() + "/hub"));
    // A Retry-After beyond 300 s is not waited out: a clear rate-limit error instead.
    hub.faults({{{"match", "/revision/"}, {"kind", "status"}, {"status", 429}, {"retry_after", 3600}, {"times", 1}}});
    EXPECT_EQ(run_engine({"download", kRepo}, env).error_code(), "hub.rate_limited");
}

TEST_F(HubDownload, IncludeAndExcludeGlobs) {
    const DownloadRun run = download({"--include", "*.json", "--exclude", "tokenizer*"});
    ASSERT_EQ(run.status, 0);
    std::vector<std::string> files;
    for (const auto& f : run.last("resolved")->at("files")) files.push_back(f["path"]);
    EXPECT_EQ(files, (std::vector<std::string>{"config.json", "model.safetensors.index.json"}));
}

TEST_F(HubDownload, DiskFullKeepsThePartialFileForResume) {
    // RLIMIT_FSIZE on the child (no root needed): writes past 2 MB fail with EFBIG, which the engine
    // treats like ENOSPC. The shards are fetched one at a time so the limit hits shard 1 mid-file.
    const DownloadRun run = download({"--jobs", "1", "--include", kShard1}, "", 2000000);
    EXPECT_EQ(run.status, 1);
    EXPECT_EQ(run.error_code(), "hub.disk_full");
    const std::string sha = hub_listing(hub, kRepo).at(kShard1)["sha256"];
    const std::string partial = repo_dir() + "/blobs/" + sha + ".incomplete";
    ASSERT_TRUE(fs::exists(partial));
    EXPECT_EQ(fs::file_size(partial), 2000000u);
    EXPECT_FALSE(fs::exists(repo_dir() + "/blobs/" + sha));
    hub.reset();
    const DownloadRun resumed = download({"--include", kShard1});  // "space freed": no limit now
    ASSERT_EQ(resumed.status, 0);
    EXPECT_EQ(resumed.last("resolved")->at("already_bytes").get<uint64_t>(), 2000000u);
    bool ranged = false;
    for (const auto& e : hub.log()) ranged = ranged || e["range"] == "bytes=2000000-";
    EXPECT_TRUE(ranged);
    EXPECT_EQ(sha256_file_hex(repo_dir() + "/blobs/" + sha), sha);
}

TEST_F(HubDownload, OneWriterPerFileTheSecondWaitsOrFailsClearly) {
    // The first writer must still hold its locks when the patient one starts, however loaded the
    // machine: a throttle alone let a slow CI runner start the patient after the first had finished.
    // A 4 s stall mid-shard (well under the engine's 30 s stall clock, so no reconnect) pins it.
    const std::string shard1_cdn = "/cdn/" + hub_listing(hub, kRepo).at(kShard1)["sha256"].get<std::string>();
    hub.faults({{{"match", "/cdn/"}, {"kind", "throttle"}, {"bps", 2000000}},
                {{"match", shard1_cdn}, {"kind", "stall"}, {"at", 1000000}, {"seconds", 4}, {"times", 1}}});
    const auto env = hub_env(hub, home.path());
    ChildProcess first({engine_bin(), "download", kRepo, "--json"}, env);
    // Wait until the first holds the shard locks (its first progress line).
    for (std::string line; (line = first.read_line()) != "";)
        if (line.find("\"progress\"") != std::string::npos) break;
    const DownloadRun impatient = run_engine({"download", kRepo, "--lock-timeout", "0.3"}, env);
    EXPECT_EQ(impatient.error_code(), "hub.locked");
    EXPECT_NE(impatient.last("error")->at("message").get<std::string>().find("another download"), std::string::npos);
    const DownloadRun patient = run_engine({"download", kRepo}, env);  // waits, then finds the blobs verified
    EXPECT_EQ(patient.status, 0);
    EXPECT_FALSE(patient.of("waiting").empty());
    EXPECT_EQ(first.wait(), 0);
    expect_verified_snapshot(patient);
    EXPECT_EQ(count_log(shard1_cdn), 1u) << "the shard must be transferred once, by the lock holder";
}

TEST_F(HubDownload, SigintStopsCleanlyAndTheNextRunResumes) {
    hub.faults({{{"match", "/cdn/"}, {"kind", "throttle"}, {"bps", 1000000}}});
    const auto env = hub_env(hub, home.path());
    ChildProcess p({engine_bin(), "download", kRepo, "--json"}, env);
    for (std::string line; (line = p.read_line()) != "";)
        if (line.find("\"progress\"") != std::string::npos) break;
    p.signal(SIGINT);
    std::vector<std::string> lines;
    EXPECT_EQ(p.wait(&lines), 130);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(json::parse(lines.back())["event"], "stopped");
    size_t partial = 0;
    for (const auto& e : fs::directory_iterator(repo_dir() + "/blobs")) partial += e.path().extension() == ".incomplete";
    EXPECT_GT(partial, 0u);
    hub.reset();
    const DownloadRun resumed = download();
    expect_verified_snapshot(resumed);
    EXPECT_GT(resumed.last("resolved")->at("already_bytes").get<uint64_t>(), 0u);
}

TEST_F(HubDownload, ProgressEventsCarryTheContractFields) {
    hub.faults({{{"match", "/cdn/"}, {"kind", "throttle"}, {"bps", 4000000}}});
    const auto start = std::chrono::steady_clock::now();
    const DownloadRun run = download();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    expect_verified_snapshot(run);
    const auto progress = run.of("progress");
    ASSERT_FALSE(progress.empty());
    for (const auto& p : progress)
        for (const char* k : {"file", "bytes", "total", "overall_bytes", "overall_total", "speed_bps", "eta_s"})
            EXPECT_TRUE(p.contains(k)) << k;
    // Sampled every 200 ms: at most ~5 lines per second for each of the two shards in flight.
    EXPECT_LE(double(progress.size()), 2 * (seconds * 5 + 2));
    EXPECT_EQ(run.last("resolved")->at("total_bytes"), progress.back()["overall_total"]);
    uint64_t previous = 0;
    for (const auto& p : progress) {
        EXPECT_GE(p["overall_bytes"].get<uint64_t>(), previous);
        previous = p["overall_bytes"].get<uint64_t>();
    }
}

}  // namespace
}  // namespace moe::test
