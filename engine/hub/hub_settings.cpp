#include "hub/hub_settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace moe::hub {
namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

std::string hf_home() {
    if (auto h = env("HF_HOME")) return *h;
    if (auto x = env("XDG_CACHE_HOME")) return *x + "/huggingface";
    if (auto home = env("HOME")) return *home + "/.cache/huggingface";
    throw Error("hub.no_cache_dir", "", "neither HF_HOME, HF_HUB_CACHE nor HOME is set; pass --cache-dir");
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return s.substr(i);
}

std::string read_token_file(const std::string& path, bool must_exist) {
    std::ifstream in(path);
    if (!in) {
        if (must_exist) throw Error("hub.token_file", path, "cannot read the token file");
        return "";
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return trim(ss.str());
}

}  // namespace

std::string default_hub_cache_dir() {
    if (auto c = env("HF_HUB_CACHE")) return *c;
    return hf_home() + "/hub";
}

HubSettings resolve_hub_settings(const HubOverrides& o) {
    HubSettings s;
    s.endpoint = o.endpoint.value_or(env("HF_ENDPOINT").value_or("https://huggingface.co"));
    while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
    if (s.endpoint.rfind("https://", 0) != 0 && s.endpoint.rfind("http://", 0) != 0)
        throw Error("hub.bad_endpoint", "", "hub endpoint '" + s.endpoint + "' must start with https:// or http://");
    if (o.token) {
        s.token = *o.token;
    } else if (o.token_file) {
        s.token = read_token_file(*o.token_file, true);
    } else if (auto t = env("HF_TOKEN")) {
        s.token = *t;
    } else if (auto p = env("HF_TOKEN_PATH")) {
        s.token = read_token_file(*p, false);
    } else if (env("HF_HOME") || env("HOME")) {
        s.token = read_token_file(hf_home() + "/token", false);
    }
    s.cache_dir = o.cache_dir.value_or(default_hub_cache_dir());
    return s;
}

}  // namespace moe::hub
