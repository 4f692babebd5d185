// moe-engine serve [--model DIR | --demo | --demo-untrained] [--host 127.0.0.1] [--port N] [--api-key K] [options]
// The engine behind an OpenAI-compatible HTTP API (engine/server/, docs/api.md). Once listening it
// prints one JSON line on stdout, {"event":"listening","host":...,"port":...}, so a parent process
// that asked for --port 0 learns the port; everything else goes to stderr. SIGINT/SIGTERM stop it
// cleanly (generations cancelled, connections closed, exit status 0); a lost GPU context stops it
// with exit status 3 (core/device_fault.h) once the failing request has its answer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <pthread.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/device_fault.h"
#include "core/error.h"
#include "demo/demo_model.h"
#include "server/http_server.h"
#include "server/server_policies.h"
#include "server/sse.h"
#include "server/train_jobs.h"

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"model", true, "checkpoint directory to load at start (else load one via POST /workbench/v1/models/load)"},
    {"demo", false, "load the embedded demo model, trained by this engine (written to the workbench's cache "
                    "if missing; model id demo-trained); its training run appears among the runs"},
    {"demo-untrained", false, "load the embedded untrained demo model (random weights; model id demo-untrained)"},
    {"model-id", true, "the name clients use as \"model\" (default: the directory's name)"},
    {"host", true, "address to listen on (default 127.0.0.1; anything else is reachable from the network)"},
    {"port", true, "port (default 8080; 0 = any free port, printed in the listening line)"},
    {"api-key", true, "require 'Authorization: Bearer KEY' (default: $MOE_API_KEY; prefer the variable, "
                      "a command line is visible to other users)"},
    {"backend", true, "cpu | cuda | auto (default auto)"},
    {"ctx", true, "KV-cache capacity in tokens (default 4096, clamped to the model's maximum)"},
    {"queue", true, "requests that may wait for the model (default 32; more get 503 + Retry-After)"},
    {"parallel", true, "plain generations decoded side by side, their steps batched (default 1; each one's KV "
                       "cache is allocated at load, as many as the accelerator's memory holds)"},
    {"max-body-bytes", true, "largest request body (default 4194304)"},
    {"max-prompt-tokens", true, "longest prompt in tokens (default: the context capacity)"},
    {"telemetry-interval-ms", true, "default telemetry snapshot interval (default 500)"},
    {"max-telemetry-streams", true, "concurrent telemetry streams (default 4)"},
    {"speculative", false, "decode speculatively with the model's MTP modules unless a request says "
                           "\"speculative\": false (a model without them decodes plainly, saying why)"},
    {"draft", true, "drafts per step for speculative requests that do not say (default: one per MTP module)"},
    {"runs-dir", true, "folder of fine-tune runs started through the API (default $XDG_DATA_HOME/moe-workbench/runs)"},
    {"exit-with-parent", false, "exit when the parent process dies (Linux; for the workbench)"},
    {"test-token-delay-ms", true, "testing only: sleep this long after each generated token"},
    {"test-device-fault-after-ms", true, "testing only: report a lost GPU context this long after listening"},
    {"help", false, "show this help"}};

server::ServerOptions parse_options(const Args& args) {
    server::ServerOptions o;
    o.host = args.get_or("host", o.host);
    o.port = int(args.get_int("port", o.port));
    if (o.port < 0 || o.port > 65535) throw Error("cli.bad_argument", "", "--port must be 0..65535");
    const char* env_key = std::getenv("MOE_API_KEY");
    o.api_key = args.get_or("api-key", env_key ? env_key : "");
    o.backend = args.get_or("backend", o.backend);
    o.max_context = args.get_int("ctx", o.max_context);
    o.queue_capacity = size_t(std::max<int64_t>(1, args.get_int("queue", int64_t(o.queue_capacity))));
    o.parallel = args.get_int("parallel", 1);
    if (o.parallel < 1 || o.parallel > 256) throw Error("cli.bad_argument", "", "--parallel must be 1..256");
    o.max_body_bytes = size_t(std::max<int64_t>(1024, args.get_int("max-body-bytes", int64_t(o.max_body_bytes))));
    o.max_prompt_tokens = args.get_int("max-prompt-tokens", 0);
    o.telemetry_interval_ms = int(std::clamp<int64_t>(args.get_int("telemetry-interval-ms", 500), 20, 60'000));
    o.max_telemetry_streams = size_t(std::max<int64_t>(1, args.get_int("max-telemetry-streams", 4)));
    o.token_delay = std::chrono::milliseconds(std::max<int64_t>(0, args.get_int("test-token-delay-ms", 0)));
    o.runs_dir = args.get_or("runs-dir", "");
    o.speculative = args.has("speculative");
    o.draft_tokens = args.get_int("draft", 0);
    if (args.has("draft") && o.draft_tokens < 1) throw Error("cli.bad_argument", "", "--draft must be at least 1");
    return o;
}

// SIGINT/SIGTERM are blocked in every thread (threads inherit the mask) and taken by this one
// thread with sigtimedwait, so stopping runs as ordinary code rather than in a signal handler. The
// same thread stops the server when the GPU context is lost (core/device_fault.h): after a grace
// period for the failing request's answer, so that the process exits and the workbench restarts it.
class SignalStopper {
public:
    explicit SignalStopper(server::HttpServer& server) : thread_([this, &server] { wait(server); }) {}
    ~SignalStopper() {
        done_ = true;
        thread_.join();
    }
    bool stopped_for_device_fault() const { return device_fault_; }
    static void block_signals() {
        sigset_t set = stop_signals();
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
    }

private:
    static sigset_t stop_signals() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        return set;
    }
    void wait(server::HttpServer& server) {
        const sigset_t set = stop_signals();
        const timespec tick{0, 200'000'000};
        while (!done_) {
            const int sig = sigtimedwait(&set, nullptr, &tick);
            if (sig == SIGINT || sig == SIGTERM) {
                spdlog::info("serve: {} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
                server.stop();
                return;
            }
            if (const std::optional<std::string> fault = device_fault()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the failing request's answer goes out
                spdlog::error("serve: the GPU context is lost ({}); stopping with exit status {} so that the engine "
                              "is restarted (the workbench restarts it and loads the model again)",
                              *fault, kExitDeviceFault);
                device_fault_ = true;
                server.stop();
                return;
            }
        }
    }
    std::atomic<bool> done_{false};
    std::atomic<bool> device_fault_{false};
    std::thread thread_;
};

// The demo's training run among the runs, so the Fine-tune panel shows how the model it chats with was
// made. Failing to write it (a read-only data folder) costs that view only, never the server.
void install_demo_run(server::HttpServer& server, const std::string& model_dir) {
    if (!server.core().train) return;
    try {
        demo::ensure_demo_run(server.core().train->runs_root(), model_dir);
    } catch (const std::exception& e) {
        spdlog::warn("serve --demo: the demo model's training run is not among the runs: {}", e.what());
    }
}

bool load_at_start(server::HttpServer& server, const Args& args, const server::ServerOptions& o) {
    server::LoadOptions lo;
    if (args.has("demo") || args.has("demo-untrained")) {
        const auto kind = args.has("demo") ? demo::DemoKind::Trained : demo::DemoKind::Untrained;
        lo.dir = demo::ensure_demo_model(demo::default_demo_dir(kind), kind);
        lo.id = args.get_or("model-id", demo::model_id(kind));
        if (kind == demo::DemoKind::Trained) install_demo_run(server, lo.dir);
    } else {
        lo.dir = args.require("model");
        lo.id = args.get_or("model-id", "");
    }
    lo.backend = o.backend;
    lo.max_context = o.max_context;
    lo.parallel = o.parallel;
    const server::ModelEvent last = server.load_model(lo, [](const server::ModelEvent& ev) {
        if (ev.kind == server::ModelEvent::Kind::Progress) spdlog::info("load: {}", ev.message);
    });
    if (last.kind == server::ModelEvent::Kind::Error) {
        spdlog::error("moe-engine serve: {}", last.error.message);
        return false;
    }
    spdlog::info("load: serving '{}' (context {} tokens, {} generation slots)", last.model->id,
                 last.model->max_context, last.model->parallel_slots);
    if (o.speculative && last.model->mtp_modules == 0)
        spdlog::warn("serve --speculative: '{}' has no MTP modules, so requests decode without speculation "
                     "(each reply says so in workbench.speculative.reason)", last.model->id);
    return true;
}

void print_listening(const std::string& host, int port) {
    const Json line = {{"event", "listening"}, {"host", host}, {"port", port}};
    std::printf("%s\n", server::json_text(line).c_str());
    std::fflush(stdout);
}

}  // namespace

int cmd_serve(const std::vector<std::string>& argv) {
    Args args(argv, kSpecs);
    if (args.has("help")) {
        std::fputs(usage_for("serve", "[--model DIR] [--host H] [--port N] [--api-key K] [options]", kSpecs).c_str(),
                   stdout);
        return 0;
    }
#ifdef __linux__
    if (args.has("exit-with-parent")) prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    const server::ServerOptions options = parse_options(args);
    if (!server::is_loopback_host(options.host) && options.api_key.empty())
        spdlog::warn("serve: listening on {} without an API key: anyone who can reach this address can use the model",
                     options.host);
    SignalStopper::block_signals();  // before any thread starts
    server::HttpServer server(options);
    const int sources = int(args.has("model")) + int(args.has("demo")) + int(args.has("demo-untrained"));
    if (sources > 1) throw Error("cli.bad_argument", "", "--model, --demo and --demo-untrained exclude each other");
    if (sources == 1 && !load_at_start(server, args, options)) return 1;
    const int port = server.bind();
    SignalStopper stopper(server);
    print_listening(options.host, port);
    std::jthread test_fault;  // --test-device-fault-after-ms: the exit path of a lost GPU context, without a GPU
    if (const int64_t ms = args.get_int("test-device-fault-after-ms", -1); ms >= 0)
        test_fault = std::jthread([ms] {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            report_device_fault("serve --test-device-fault-after-ms");
        });
    const bool ok = server.serve();
    server.stop();
    spdlog::info("serve: stopped");
    if (stopper.stopped_for_device_fault()) return kExitDeviceFault;
    return ok ? 0 : 1;
}

}  // namespace moe::cli
