// moe-engine download REPO: fetches safetensors, json and tokenizer files of a hub repository into
// the huggingface_hub cache, resumable and verified (engine/hub/, docs/hub.md). Exit status: 0 done,
// 1 error, 2 bad arguments, 130 stopped by SIGINT/SIGTERM (partial files kept for resume).
#include <atomic>
#include <csignal>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"

#ifdef MOE_HAVE_HUB
#include "hub/download_output.h"
#include "hub/downloader.h"
#include "hub/hub_client.h"
#endif

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"revision", true, "branch, tag or commit (default main)"},
    {"include", true, "only files matching this glob (repeatable)"},
    {"exclude", true, "skip files matching this glob (repeatable)"},
    {"cache-dir", true, "hub cache directory (default HF_HUB_CACHE, else HF_HOME/hub)"},
    {"endpoint", true, "hub URL (default HF_ENDPOINT, else https://huggingface.co)"},
    {"jobs", true, "files downloaded in parallel (default 4)"},
    {"token", true, "access token (default HF_TOKEN, else the HF_HOME/token file)"},
    {"token-file", true, "read the access token from this file"},
    {"stall-timeout", true, "seconds without a byte before reconnecting (default 30)"},
    {"retries", true, "attempts without progress before giving up (default 6)"},
    {"lock-timeout", true, "seconds to wait for another process downloading the same file (default: forever)"},
    {"json", false, "JSON lines on stdout (the GUI's contract) instead of a progress bar"},
    {"help", false, "show this help"}};

// Args keeps one value per option; --include/--exclude may repeat, so they are taken out first.
std::vector<std::string> take_repeated(std::vector<std::string>& argv, const std::string& name) {
    std::vector<std::string> values, rest;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i] == "--" + name && i + 1 < argv.size()) {
            values.push_back(argv[++i]);
        } else if (argv[i].rfind("--" + name + "=", 0) == 0) {
            values.push_back(argv[i].substr(name.size() + 3));
        } else {
            rest.push_back(argv[i]);
        }
    }
    argv = rest;
    return values;
}

#ifdef MOE_HAVE_HUB
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

void install_signal_handlers() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit must surface as EFBIG (hub.disk_full), not kill us
}

hub::DownloadRequest make_request(const Args& args, const std::string& repo, std::vector<std::string> include,
                                  std::vector<std::string> exclude) {
    hub::DownloadRequest req;
    req.repo = repo;
    req.revision = args.get_or("revision", "main");
    req.filter.include = std::move(include);
    req.filter.exclude = std::move(exclude);
    req.jobs = int(args.get_int("jobs", 4));
    if (req.jobs < 1 || req.jobs > 64) throw Error("cli.bad_argument", "", "--jobs must be 1..64");
    req.fetch.stall_seconds = long(args.get_int("stall-timeout", 30));
    req.fetch.lock_timeout_s = args.get_double("lock-timeout", -1);
    req.fetch.retry = hub::default_retry_policy();
    req.fetch.retry.max_attempts = int(args.get_int("retries", req.fetch.retry.max_attempts));
    req.fetch.cancel = &g_stop;
    return req;
}

int run(const Args& args, const std::string& repo, std::vector<std::string> include, std::vector<std::string> exclude) {
    const bool json = args.has("json");
    install_signal_handlers();
    hub::HubOverrides o;
    o.endpoint = args.get("endpoint");
    o.token = args.get("token");
    o.token_file = args.get("token-file");
    o.cache_dir = args.get("cache-dir");
    hub::JsonLinesObserver json_out;
    hub::TerminalObserver term_out(stderr);
    hub::DownloadObserver& observer = json ? static_cast<hub::DownloadObserver&>(json_out) : term_out;
    try {
        hub::HubClient client(hub::resolve_hub_settings(o));
        client.set_cancel_flag(&g_stop);
        const std::string snapshot = hub::run_download(client, make_request(args, repo, include, exclude), observer);
        term_out.finish_line();
        if (json) hub::print_json_line({{"event", "done"}, {"snapshot", snapshot}});
        else std::printf("%s\n", snapshot.c_str());
        return 0;
    } catch (const Error& e) {
        term_out.finish_line();
        if (e.code() == "hub.stopped" || g_stop.load()) {
            if (json) hub::print_json_line({{"event", "stopped"}});
            spdlog::info("moe-engine download: stopped; partial files are kept, run the same command to resume");
            return 130;
        }
        if (json) hub::print_json_line(hub::error_event(e));
        spdlog::error("moe-engine download: {}", e.what());
        return 1;
    }
}
#endif

}  // namespace

int cmd_download(const std::vector<std::string>& argv_in) {
    std::vector<std::string> argv = argv_in;
    auto include = take_repeated(argv, "include");
    auto exclude = take_repeated(argv, "exclude");
    Args args(argv, kSpecs);
    if (args.has("help") || args.positional().size() != 1) {
        std::fputs(usage_for("download", "REPO [--revision R] [--include GLOB]... [--json]", kSpecs).c_str(),
                   args.has("help") ? stdout : stderr);
        return args.has("help") ? 0 : 2;
    }
#ifdef MOE_HAVE_HUB
    return run(args, args.positional()[0], std::move(include), std::move(exclude));
#else
    if (args.has("json"))
        std::printf("{\"event\":\"error\",\"code\":\"hub.unavailable\",\"message\":\"moe-engine was built without libcurl\"}\n");
    throw Error("hub.unavailable", "", "this moe-engine was built without libcurl, so it cannot download; rebuild with "
                                       "libcurl4-openssl-dev installed");
#endif
}

}  // namespace moe::cli
