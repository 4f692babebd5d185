// moe-engine hub search|files|scan: the model hub seen from the command line (and, with --json, by
// the workbench's Models panel; the JSON shapes are the contract in docs/hub.md).
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"

#ifdef MOE_HAVE_HUB
#include "hub/cache_scan.h"
#include "hub/download_output.h"
#include "hub/download_plan.h"
#include "hub/hub_client.h"
#include "hub/memory_estimate.h"
#include "io/model_config.h"
#include "session/accelerator.h"
#endif

namespace moe::cli {
namespace {

const char* kSynopsis =
    "search QUERY [--arch deepseek_v3|deepseek_v2|qwen2] [--limit N] [--json]\n"
    "       moe-engine hub files REPO [--revision R] [--ctx N] [--json]\n"
    "       moe-engine hub scan [--cache-dir DIR] [--dir D]... [--json]";

const std::vector<OptionSpec> kSpecs = {
    {"arch", true, "search: only this architecture (deepseek_v3, deepseek_v2, qwen2)"},
    {"limit", true, "search: at most N models (default 20)"},
    {"revision", true, "files: branch, tag or commit (default main)"},
    {"ctx", true, "files: context length for the KV-cache estimate (default 4096)"},
    {"cache-dir", true, "hub cache directory (default HF_HUB_CACHE, else HF_HOME/hub)"},
    {"dir", true, "scan: also this model folder (repeatable)"},
    {"endpoint", true, "hub URL (default HF_ENDPOINT, else https://huggingface.co)"},
    {"token", true, "access token (default HF_TOKEN)"},
    {"token-file", true, "read the access token from this file"},
    {"json", false, "print JSON"},
    {"help", false, "show this help"}};

std::vector<std::string> take_repeated(std::vector<std::string>& argv, const std::string& name) {
    std::vector<std::string> values, rest;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i] == "--" + name && i + 1 < argv.size()) values.push_back(argv[++i]);
        else if (argv[i].rfind("--" + name + "=", 0) == 0) values.push_back(argv[i].substr(name.size() + 3));
        else rest.push_back(argv[i]);
    }
    argv = rest;
    return values;
}

#ifdef MOE_HAVE_HUB
hub::HubClient make_client(const Args& args) {
    hub::HubOverrides o;
    o.endpoint = args.get("endpoint");
    o.token = args.get("token");
    o.token_file = args.get("token-file");
    o.cache_dir = args.get("cache-dir");
    return hub::HubClient(hub::resolve_hub_settings(o));
}

void print(const Args& args, const Json& j, const std::string& text) {
    if (args.has("json")) hub::print_json_line(j);
    else std::fputs(text.c_str(), stdout);
}

int search(const Args& args) {
    if (args.positional().size() != 2) throw Error("cli.bad_argument", "", "hub search takes one QUERY (use \"\" for all)");
    const std::string arch = args.get_or("arch", "");
    if (!arch.empty() && arch != "deepseek_v3" && arch != "deepseek_v2" && arch != "qwen2")
        throw Error("cli.bad_argument", "", "--arch must be deepseek_v3, deepseek_v2 or qwen2");
    const auto hits = make_client(args).search(args.positional()[1], arch, int(args.get_int("limit", 20)));
    Json models = Json::array();
    std::string text;
    for (const auto& h : hits) {
        models.push_back({{"id", h.id}, {"architecture", h.architecture ? Json(*h.architecture) : Json(nullptr)},
                          {"downloads", h.downloads}, {"likes", h.likes}, {"last_modified", h.last_modified},
                          {"gated", h.gated}, {"tags", h.tags}});
        char line[512];
        std::snprintf(line, sizeof line, "%-50s %-12s %10lld downloads %6lld likes%s\n", h.id.c_str(),
                      h.architecture.value_or("-").c_str(), (long long)h.downloads, (long long)h.likes,
                      h.gated == Json(false) ? "" : "  (gated)");
        text += line;
    }
    print(args, {{"models", models}}, text.empty() ? "no models found\n" : text);
    return 0;
}

std::optional<hub::GpuDevice> this_machines_gpu() {
    const auto dev = probe_gpu_memory();
    if (!dev) return std::nullopt;
    return hub::GpuDevice{dev->name, dev->free_bytes, dev->total_bytes};
}

// config.json of the listing, parsed; and the estimate when the architecture is one we run.
void add_config_and_estimate(const hub::HubClient& client, const std::string& repo, const std::string& commit,
                             const std::vector<hub::RepoFile>& files, int64_t ctx, Json& out, std::string& text) {
    out["config"] = nullptr;
    out["estimate"] = nullptr;
    uint64_t stored = 0;
    bool has_config = false;
    for (const auto& f : files) {
        if (f.kind == hub::FileKind::Safetensors) stored += f.size;
        has_config = has_config || f.path == "config.json";
    }
    if (!has_config) return;
    const std::string url = client.file_url(repo, commit, "config.json");
    try {
        out["config"] = parse_strict_json(client.fetch_text(repo, commit, "config.json"), url, "config");
    } catch (const Error& err) {
        // A gated repository lists its files publicly but serves none without an accepted licence.
        out["config_error"] = {{"code", err.code()}, {"message", err.what()}};
        text += "config        not readable: " + std::string(err.what()) + "\n";
        return;
    }
    try {
        const ModelConfig cfg = parse_model_config(out["config"], url);
        const hub::MemoryEstimate e = hub::estimate_memory(cfg, stored, ctx, this_machines_gpu());
        out["estimate"] = hub::estimate_to_json(e);
        text += "estimate      " + std::to_string(e.params.main + e.params.mtp) + " parameters; weights " +
                hub::human_bytes(double(e.weights_stored)) + " stored, " + hub::human_bytes(double(e.weights_bf16)) +
                " bf16, " + hub::human_bytes(double(e.weights_fp8)) + " fp8; KV cache " +
                hub::human_bytes(double(e.kv_bytes)) + " for " + std::to_string(ctx) + " tokens\n" +
                "fits          RAM " + (e.ram_fits ? "yes" : "no") + " (" + hub::human_bytes(double(e.ram_available.value_or(0))) +
                " available)" + (e.gpu ? std::string(", GPU ") + (e.gpu->fits ? "yes" : "no") + " (" + e.gpu->name + ")" : "") + "\n";
    } catch (const Error& err) {
        text += "estimate      none: " + std::string(err.what()) + "\n";
    }
}

int files(const Args& args) {
    if (args.positional().size() != 2) throw Error("cli.bad_argument", "", "hub files takes one REPO");
    const std::string repo = args.positional()[1];
    const std::string revision = args.get_or("revision", "main");
    const int64_t ctx = args.get_int("ctx", 4096);
    const hub::HubClient client = make_client(args);
    const hub::RevisionInfo rev = client.resolve_revision(repo, revision);
    const auto listing = client.list_files(repo, rev.commit);
    Json list = Json::array();
    uint64_t download_bytes = 0;
    std::string text = repo + " @ " + rev.commit + "\n";
    for (const auto& f : listing) {
        const bool selected = hub::is_selected(f, {});
        if (selected) download_bytes += f.size;
        list.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256 ? Json(*f.sha256) : Json(nullptr)},
                        {"kind", hub::file_kind_name(f.kind)}, {"selected", selected}});
        char line[512];
        std::snprintf(line, sizeof line, "  %s %-56s %12s  %s\n", selected ? "*" : " ", f.path.c_str(),
                      hub::human_bytes(double(f.size)).c_str(), hub::file_kind_name(f.kind));
        text += line;
    }
    text += "download      " + hub::human_bytes(double(download_bytes)) + " (* = fetched by moe-engine download)\n";
    Json out = {{"repo", repo}, {"revision_requested", revision}, {"revision", rev.commit}, {"files", list},
                {"download_bytes", download_bytes}};
    add_config_and_estimate(client, repo, rev.commit, listing, ctx, out, text);
    print(args, out, text);
    return 0;
}

int scan(const Args& args, const std::vector<std::string>& dirs) {
    hub::HubOverrides o;
    o.cache_dir = args.get("cache-dir");
    const std::string cache = o.cache_dir ? *o.cache_dir : hub::default_hub_cache_dir();
    auto models = hub::scan_hub_cache(cache);
    for (const auto& d : dirs)
        for (auto& m : hub::scan_model_folder(d)) models.push_back(std::move(m));
    std::string text;
    for (const auto& m : models)
        text += (m.complete ? "  complete    " : "  incomplete  ") + m.repo.value_or("(folder)") + "  " +
                m.architecture.value_or("?") + "  " + hub::human_bytes(double(m.size_bytes)) + "  " + m.path + "\n";
    print(args, hub::local_models_to_json(models), text.empty() ? "no models found in " + cache + "\n" : text);
    return 0;
}
#endif

}  // namespace

int cmd_hub(const std::vector<std::string>& argv_in) {
    std::vector<std::string> argv = argv_in;
    const auto dirs = take_repeated(argv, "dir");
    Args args(argv, kSpecs);
    const std::string sub = args.positional().empty() ? "" : args.positional()[0];
    if (args.has("help") || (sub != "search" && sub != "files" && sub != "scan")) {
        std::fputs(usage_for("hub", kSynopsis, kSpecs).c_str(), args.has("help") ? stdout : stderr);
        return args.has("help") ? 0 : 2;
    }
#ifdef MOE_HAVE_HUB
    try {
        if (sub == "search") return search(args);
        if (sub == "files") return files(args);
        return scan(args, dirs);
    } catch (const Error& e) {
        if (args.has("json")) hub::print_json_line(hub::error_event(e));
        throw;
    }
#else
    if (args.has("json"))
        std::printf("{\"event\":\"error\",\"code\":\"hub.unavailable\",\"message\":\"moe-engine was built without libcurl\"}\n");
    throw Error("hub.unavailable", "", "this moe-engine was built without libcurl, so it has no hub client; rebuild "
                                       "with libcurl4-openssl-dev installed");
#endif
}

}  // namespace moe::cli
