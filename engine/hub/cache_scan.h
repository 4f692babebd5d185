// The local model library: snapshots in the hub cache (ours and huggingface_hub's alike) and model
// folders the user points at. A model is "complete" when config.json and every safetensors shard the
// index names (or model.safetensors when there is no index) are present (dangling links = missing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"

namespace moe::hub {

struct LocalModel {
    std::optional<std::string> repo;       // "org/name" for hub-cache snapshots
    std::optional<std::string> revision;   // the ref naming this snapshot ("main"), else the commit
    std::string path;                      // absolute directory
    std::optional<std::string> architecture;  // config.json model_type
    uint64_t size_bytes = 0;               // files reachable from the directory (links followed)
    bool complete = false;
    std::string source;                    // "hub-cache" or "folder"
};

// Every snapshot under <cache_dir>/models--*--*/snapshots/*; a missing cache is an empty list.
std::vector<LocalModel> scan_hub_cache(const std::string& cache_dir);
// `dir` itself when it holds config.json, else each direct subfolder holding one.
std::vector<LocalModel> scan_model_folder(const std::string& dir);

Json local_models_to_json(const std::vector<LocalModel>& models);

}  // namespace moe::hub
