// Fetches one repository file into the cache and publishes it only once verified:
//   lock -> blobs/<id>.incomplete (resume with Range: only a 206 whose Content-Range starts where
//   the file ends; a 200 restarts from 0) -> fsync -> hash (sha256, or the git blob sha1 of a small
//   non-LFS file) -> rename to blobs/<id> -> snapshot symlink.
// A wrong hash throws the bytes away and fetches once more; a second wrong hash is hub.verify_failed.
// Stalls, resets and short bodies reconnect with backoff; 429 waits as long as Retry-After says.
// Cancellation and disk-full leave the .incomplete in place for the next run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "hub/hub_client.h"
#include "hub/repo_cache.h"
#include "hub/retry_policy.h"

namespace moe::hub {

struct FetchOptions {
    long stall_seconds = 30;        // no byte for this long -> reconnect
    double lock_timeout_s = -1;     // < 0: wait for another writer as long as it takes
    RetryPolicy retry;
    const std::atomic<bool>* cancel = nullptr;
};

struct FetchCallbacks {
    std::function<void(uint64_t bytes_on_disk)> progress;            // from the transfer thread
    std::function<void(int attempt, const std::string& reason, double wait_s)> retry;
    std::function<void()> waiting_for_lock;
};

enum class FetchOutcome { Downloaded, AlreadyCached };

// Throws moe::Error: hub.verify_failed, hub.disk_full, hub.network, hub.rate_limited, hub.locked,
// hub.unauthorized / hub.gated / hub.not_found, hub.stopped (cancelled).
FetchOutcome fetch_file(const HubClient& client, const RepoCache& cache, const std::string& repo,
                        const std::string& commit, const RepoFile& file, const FetchOptions& options,
                        const FetchCallbacks& callbacks);

// "bytes 100-999/1000" -> start 100, total 1000 (total -1 when "*"). False when malformed.
bool parse_content_range(const std::string& value, uint64_t* start, int64_t* total);

}  // namespace moe::hub
