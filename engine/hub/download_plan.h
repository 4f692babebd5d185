// Which files of a listing a download fetches: safetensors, json and tokenizer files, narrowed by
// --include / --exclude globs (fnmatch, '*' also matches '/', as huggingface_hub's patterns do).
// A repository whose weights exist only as pickle (.bin/.pt) is refused with the files named.
#pragma once

#include <string>
#include <vector>

#include "hub/hub_client.h"

namespace moe::hub {

struct FileFilter {
    std::vector<std::string> include;  // empty: everything
    std::vector<std::string> exclude;
};

bool glob_match(const std::string& pattern, const std::string& path);
// Whether `file` would be fetched (kind allowed and globs pass).
bool is_selected(const RepoFile& file, const FileFilter& filter);
// The files to fetch. Throws hub.pickle_only (weights only as pickle) or hub.not_found (nothing left).
std::vector<RepoFile> plan_download(const std::string& repo, const std::vector<RepoFile>& files, const FileFilter& filter);

}  // namespace moe::hub
