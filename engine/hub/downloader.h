// A whole repository download: revision -> commit, listing, plan, then N files in parallel through
// fetch_file, with progress sampled ~5 times a second and every event handed to one observer
// (calls are serialised: the observer needs no locking).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "hub/blob_fetcher.h"
#include "hub/download_plan.h"
#include "hub/hub_client.h"

namespace moe::hub {

struct DownloadRequest {
    std::string repo;
    std::string revision = "main";
    FileFilter filter;
    int jobs = 4;
    FetchOptions fetch;                         // fetch.cancel: the caller's stop flag (SIGINT)
};

struct ProgressSample {
    std::string file;
    uint64_t bytes = 0, total = 0;              // this file
    uint64_t overall_bytes = 0, overall_total = 0;
    double speed_bps = 0;                       // overall, over the last few seconds
    double eta_s = -1;                          // -1 while unknown
};

class DownloadObserver {
public:
    virtual ~DownloadObserver() = default;
    virtual void resolved(const std::string& repo, const std::string& commit, const std::vector<RepoFile>& files,
                          uint64_t total_bytes, uint64_t already_bytes) = 0;
    virtual void progress(const ProgressSample& sample) = 0;
    virtual void file_done(const RepoFile& file, bool already_cached) = 0;
    virtual void retry(const std::string& file, int attempt, const std::string& reason, double wait_s) = 0;
    virtual void waiting_for_lock(const std::string& file) = 0;
};

// Returns the absolute snapshot directory. Throws the first moe::Error a file hit (the other
// transfers are stopped, their partial files kept), or hub.stopped when fetch.cancel was set.
std::string run_download(const HubClient& client, const DownloadRequest& request, DownloadObserver& observer);

}  // namespace moe::hub
