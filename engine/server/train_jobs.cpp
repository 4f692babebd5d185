#include "server/train_jobs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/staging_dir.h"
#include "server/api_error.h"
#include "train/run_config.h"

namespace moe::server {

namespace fs = std::filesystem;

namespace {

constexpr auto kPoll = std::chrono::milliseconds(50);

[[noreturn]] void not_found(const std::string& id) {
    throw ApiException(ApiError{404, "invalid_request_error", "train.unknown_run", "no training run '" + id + "'", "id"});
}

std::string default_runs_root() {
    const char* data = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    const fs::path base = data && *data ? fs::path(data) : fs::path(home ? home : "/tmp") / ".local" / "share";
    return (base / "moe-workbench" / "runs").string();
}

// "20261205-093012-lora-3f9a": sortable by start time, unique enough for one machine.
std::string new_run_id(const std::string& method) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    static std::mt19937 rng(std::random_device{}());
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%04x", unsigned(rng() & 0xffff));
    return std::string(stamp) + "-" + method + "-" + suffix;
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// Whether `pid` is a moe-engine train process (a reused pid must not be signalled).
bool is_train_process(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    const std::string cmd((std::istreambuf_iterator<char>(in)), {});
    return cmd.find(std::string("train") + '\0') != std::string::npos;
}

std::vector<Json> read_jsonl(const fs::path& path) {
    std::vector<Json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        try {
            out.push_back(Json::parse(line));
        } catch (const std::exception&) {
            // a line being written right now: the next read gets it whole
        }
    }
    return out;
}

Json last_of(const std::vector<Json>& events, const char* kind) {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
        if ((*it)["event"] == kind) return *it;
    return nullptr;
}

}  // namespace

TrainJobs::TrainJobs(TrainJobsOptions options, std::function<bool()> generation_busy)
    : options_(std::move(options)), generation_busy_(std::move(generation_busy)) {
    if (options_.runs_root.empty()) options_.runs_root = default_runs_root();
    if (options_.engine_binary.empty()) options_.engine_binary = fs::read_symlink("/proc/self/exe").string();
    std::error_code ec;
    fs::create_directories(options_.runs_root, ec);
    reattach();
    supervisor_ = std::thread([this] { supervise(); });
}

TrainJobs::~TrainJobs() {
    stop_ = true;
    if (supervisor_.joinable()) supervisor_.join();
    std::lock_guard lock(mu_);
    for (auto& [id, c] : children_)
        if (c.yielding && alive(c.pid)) ::kill(c.pid, SIGCONT);  // never leave a run frozen for a generation
}

std::string TrainJobs::run_dir(const std::string& id) const {
    if (id.empty() || id.find('/') != std::string::npos || id.find("..") != std::string::npos) not_found(id);
    const fs::path dir = fs::path(options_.runs_root) / id;
    if (!fs::exists(dir / "request.json")) not_found(id);
    return dir.string();
}

// Runs whose job.json names a live moe-engine train process are ours to supervise again.
void TrainJobs::reattach() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.runs_root, ec)) {
        const fs::path job = e.path() / "job.json";
        if (!fs::exists(job)) continue;
        try {
            const Json j = load_strict_json_file(job.string(), "train");
            const pid_t pid = pid_t(j.value("pid", 0));
            if (!alive(pid) || !is_train_process(pid)) continue;
            Child c;
            c.pid = pid;
            c.user_paused = j.value("paused", false);
            if (!c.user_paused) ::kill(pid, SIGCONT);  // a previous server may have left it yielding
            children_[e.path().filename().string()] = c;
        } catch (const std::exception&) {
        }
    }
}

void TrainJobs::write_job_file(const std::string& id) const {
    const Child& c = children_.at(id);
    write_file_atomic((fs::path(options_.runs_root) / id / "job.json").string(),
                      Json{{"pid", c.pid}, {"paused", c.user_paused}, {"exit_status", c.exit_status}}.dump() + "\n");
}

Json TrainJobs::checked_config(const Json& description, const std::string& out) const {
    train::RunConfig config;
    try {
        config = train::RunConfig::from_json(description, "request");
        config.out = out;
        if (config.backend == "auto") config.backend = options_.backend;
        // Paths in a request are the client's: make them absolute against the server's folder.
        auto absolute = [](std::string& p) {
            if (!p.empty()) p = fs::absolute(p).lexically_normal().string();
        };
        absolute(config.model);
        absolute(config.scratch_config);
        absolute(config.tokenizer);
        for (train::DataSourceSpec& s : config.data.sources) absolute(s.path);
        config.validate();
    } catch (const moe::Error& e) {
        throw ApiException(invalid_request("config", e.what(), e.code()));
    }
    return config.to_json();
}

namespace {
// Runs `engine train REQUEST --json [extra]` with stdout to `events` and stderr to `log`; detached
// (its own session, signals unblocked) when `detach`.
pid_t spawn_train(const std::string& engine, const fs::path& request, const fs::path& events, const fs::path& log,
                  bool dry_run) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::setsid();  // its own session: survives this server and its window
    sigset_t none;  // serve blocks SIGINT/SIGTERM in all its threads; the run must get them
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int out = ::open(events.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || null < 0) ::_exit(126);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    const std::string req = request.string();
    const char* argv[] = {engine.c_str(), "train", req.c_str(), "--json", dry_run ? "--dry-run" : nullptr, nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
}
}  // namespace

Json TrainJobs::plan(const Json& description) {
    const fs::path dir = fs::temp_directory_path() / ("moe-train-plan-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    struct Cleanup {
        fs::path d;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(d, ec);
        }
    } cleanup{dir};
    write_file_atomic((dir / "request.json").string(), checked_config(description, (dir / "run").string()).dump(2) + "\n");
    const pid_t pid = spawn_train(options_.engine_binary, dir / "request.json", dir / "events.jsonl", dir / "train.log", true);
    if (pid < 0) throw ApiException(ApiError{500, "server_error", "train.spawn_failed", "cannot start the planner", ""});
    int status = 0;
    ::waitpid(pid, &status, 0);
    const std::vector<Json> events = read_jsonl(dir / "events.jsonl");
    const Json error = last_of(events, "error");
    if (!error.is_null())
        throw ApiException(ApiError{400, "invalid_request_error", error.value("code", "train.failed"),
                                    error.value("message", "the run cannot start"), "config"});
    const Json report = last_of(events, "data_report"), plan = last_of(events, "plan");
    if (report.is_null() || plan.is_null())
        throw ApiException(ApiError{500, "server_error", "train.plan_failed", "the planner ended without a plan", ""});
    return Json{{"object", "workbench.train_plan"}, {"data_report", report["report"]}, {"plan", plan}};
}

Json TrainJobs::start(const Json& description) {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : children_)
        if (c.exit_status < 0 && alive(c.pid))
            throw ApiException(ApiError{409, "invalid_request_error", "train.busy",
                                        "run '" + id + "' is still training; cancel it or wait for it to finish", ""});
    Json config = checked_config(description, "(set below)");
    const std::string id = new_run_id(config.value("method", std::string("run")));
    const fs::path dir = fs::path(options_.runs_root) / id;
    fs::create_directories(dir);
    config["out"] = dir.string();
    write_file_atomic((dir / "request.json").string(), config.dump(2) + "\n");
    const pid_t pid = spawn_train(options_.engine_binary, dir / "request.json", dir / "events.jsonl", dir / "train.log", false);
    if (pid < 0) throw ApiException(ApiError{500, "server_error", "train.spawn_failed", "cannot start the run", ""});
    children_[id] = Child{pid, true, false, false, -1};
    write_job_file(id);
    return Json{{"object", "workbench.train_run"}, {"id", id}, {"out", dir.string()}, {"state", "starting"}};
}

// Polls: reaps our children, and stops / continues the active run around generations.
void TrainJobs::supervise() {
    while (!stop_) {
        std::this_thread::sleep_for(kPoll);
        const bool busy = generation_busy_ && generation_busy_();
        std::lock_guard lock(mu_);
        for (auto& [id, c] : children_) {
            if (c.exit_status >= 0) continue;
            if (c.ours) {
                int status = 0;
                if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
                    c.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                    write_job_file(id);
                    continue;
                }
            } else if (!alive(c.pid)) {
                c.exit_status = 0;  // not our child: how it ended is in its events
                continue;
            }
            if (c.user_paused) continue;
            if (busy && !c.yielding) {
                ::kill(c.pid, SIGSTOP);
                c.yielding = true;
            } else if (!busy && c.yielding) {
                ::kill(c.pid, SIGCONT);
                c.yielding = false;
            }
        }
    }
}

std::string TrainJobs::state_of(const std::string& id) const {
    auto it = children_.find(id);
    const std::vector<Json> events = read_jsonl(fs::path(options_.runs_root) / id / "events.jsonl");
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
        const std::string kind = (*e)["event"];
        if (kind == "done") return "done";
        if (kind == "cancelled") return "cancelled";
        if (kind == "error") return "failed";
    }
    if (it == children_.end()) return "stopped";  // ended without a final event (killed)
    const Child& c = it->second;
    if (c.exit_status >= 0) return c.exit_status == 0 ? "done" : "failed";
    if (c.user_paused) return "paused";
    return events.empty() ? "starting" : "running";
}

Json TrainJobs::list() const {
    std::lock_guard lock(mu_);
    Json runs = Json::array();
    std::error_code ec;
    std::vector<std::string> ids;
    for (const auto& e : fs::directory_iterator(options_.runs_root, ec))
        if (fs::exists(e.path() / "request.json")) ids.push_back(e.path().filename().string());
    // Newest first (ids start with their start time); the demo model's training run, shipped with the
    // engine (engine/demo), after the user's own.
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
        const bool shipped_a = a.rfind("demo-", 0) == 0, shipped_b = b.rfind("demo-", 0) == 0;
        return shipped_a != shipped_b ? shipped_b : a > b;
    });
    for (const std::string& id : ids) {
        const fs::path dir = fs::path(options_.runs_root) / id;
        const Json last = last_of(read_jsonl(dir / "history.jsonl"), "step");
        Json req;
        try {
            req = load_strict_json_file((dir / "request.json").string(), "train");
        } catch (const std::exception&) {
            continue;
        }
        runs.push_back(Json{{"id", id},
                            {"state", state_of(id)},
                            {"model", req.value("model", "")},
                            {"method", req.value("method", "")},
                            {"step", last.is_null() ? 0 : last.value("step", 0)},
                            {"steps", req["schedule"].value("steps", 0)},
                            {"out", dir.string()}});
    }
    return Json{{"object", "list"}, {"data", runs}};
}

Json TrainJobs::status(const std::string& id) const {
    const fs::path dir = run_dir(id);
    std::lock_guard lock(mu_);
    const std::vector<Json> events = read_jsonl(dir / "events.jsonl");
    Json report = last_of(events, "data_report"), plan = last_of(events, "plan"), error = last_of(events, "error");
    Json checkpoints = Json::array();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "checkpoints", ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("step-", 0) == 0 && n.find('.') == std::string::npos) checkpoints.push_back(n);
    }
    std::sort(checkpoints.begin(), checkpoints.end());
    std::string log_tail;
    {
        std::ifstream in(dir / "train.log");
        const std::string all((std::istreambuf_iterator<char>(in)), {});
        log_tail = all.size() > 4000 ? all.substr(all.size() - 4000) : all;
    }
    auto it = children_.find(id);
    return Json{{"object", "workbench.train_run"},
                {"id", id},
                {"state", state_of(id)},
                {"pid", it == children_.end() ? Json(nullptr) : Json(it->second.pid)},
                {"config", load_strict_json_file((dir / "request.json").string(), "train")},
                {"data_report", report.is_null() ? report : report["report"]},
                {"plan", plan},
                {"last_step", last_of(events, "step")},
                {"last_eval", last_of(events, "eval")},
                {"checkpoints", checkpoints},
                {"error", error},
                {"log_tail", log_tail},
                {"out", dir.string()}};
}

Json TrainJobs::history(const std::string& id, int64_t since) const {
    const fs::path dir = run_dir(id);
    Json events = Json::array();
    for (const Json& e : read_jsonl(dir / "history.jsonl"))
        if (e.value("step", int64_t(0)) > since) events.push_back(e);
    return Json{{"object", "workbench.train_history"}, {"id", id}, {"events", events}};
}

Json TrainJobs::pause(const std::string& id) {
    run_dir(id);
    std::lock_guard lock(mu_);
    auto it = children_.find(id);
    // A run that wrote its last event (done, cancelled, error) is over even while its process is
    // still exiting: stopping it then would leave a frozen process behind.
    const std::string state = state_of(id);
    const bool over = state == "done" || state == "cancelled" || state == "failed";
    if (it == children_.end() || it->second.exit_status >= 0 || !alive(it->second.pid) || over)
        throw ApiException(ApiError{409, "invalid_request_error", "train.not_running", "run '" + id + "' is not running", ""});
    ::kill(it->second.pid, SIGSTOP);
    it->second.user_paused = true;
    it->second.yielding = false;
    write_job_file(id);
    return Json{{"id", id}, {"state", "paused"}};
}

Json TrainJobs::resume(const std::string& id) {
    run_dir(id);
    std::lock_guard lock(mu_);
    auto it = children_.find(id);
    if (it == children_.end() || !it->second.user_paused)
        throw ApiException(ApiError{409, "invalid_request_error", "train.not_paused", "run '" + id + "' is not paused", ""});
    it->second.user_paused = false;
    ::kill(it->second.pid, SIGCONT);
    write_job_file(id);
    return Json{{"id", id}, {"state", "running"}};
}

Json TrainJobs::cancel(const std::string& id) {
    run_dir(id);
    std::lock_guard lock(mu_);
    auto it = children_.find(id);
    if (it == children_.end() || it->second.exit_status >= 0 || !alive(it->second.pid))
        throw ApiException(ApiError{409, "invalid_request_error", "train.not_running", "run '" + id + "' is not running", ""});
    // SIGTERM: the run finishes its step, saves a checkpoint and exits; it must be running to do so.
    ::kill(it->second.pid, SIGTERM);
    ::kill(it->second.pid, SIGCONT);
    it->second.user_paused = false;
    it->second.yielding = false;
    write_job_file(id);
    return Json{{"id", id}, {"state", "cancelling"}};
}

Json TrainJobs::telemetry() const {
    std::string id;
    {
        std::lock_guard lock(mu_);
        for (const auto& [k, c] : children_)
            if (id.empty() || k > id) id = k;  // the newest run this server knows
    }
    if (id.empty()) return nullptr;
    const fs::path dir = fs::path(options_.runs_root) / id;
    const std::vector<Json> h = read_jsonl(dir / "history.jsonl");
    std::lock_guard lock(mu_);
    return Json{{"id", id}, {"state", state_of(id)}, {"last_step", last_of(h, "step")}, {"last_eval", last_of(h, "eval")}};
}

}  // namespace moe::server
