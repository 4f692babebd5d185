// Where the hub is and who we are to it: HF_ENDPOINT, HF_TOKEN (or a token file), and the cache
// directory (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) — huggingface_hub's rules.
#pragma once

#include <optional>
#include <string>

namespace moe::hub {

struct HubSettings {
    std::string endpoint;    // "https://huggingface.co", no trailing '/'
    std::string token;       // "" = anonymous
    std::string cache_dir;   // the hub cache: <cache_dir>/models--org--name/...
};

struct HubOverrides {
    std::optional<std::string> endpoint;
    std::optional<std::string> token;
    std::optional<std::string> token_file;
    std::optional<std::string> cache_dir;
};

// Command-line values win over the environment. The token file (HF_TOKEN_PATH, else
// HF_HOME/token) is read only when neither --token nor HF_TOKEN is given.
HubSettings resolve_hub_settings(const HubOverrides& overrides = {});

// HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
std::string default_hub_cache_dir();

}  // namespace moe::hub
