#include "train/run_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "core/error.h"

namespace moe::train {

namespace fs = std::filesystem;

const char* method_name(TrainMethod m) {
    switch (m) {
        case TrainMethod::Full: return "full";
        case TrainMethod::Lora: return "lora";
        case TrainMethod::MtpHead: return "mtp-head";
    }
    return "?";
}

float Schedule::lr_at_progress(int64_t step, double progress) const {
    if (warmup > 0 && step <= warmup) return lr * float(step) / float(warmup);
    if (!cosine) return lr;
    const double floor = double(min_lr_ratio) * lr;
    progress = std::clamp(progress, 0.0, 1.0);
    return float(floor + (double(lr) - floor) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

float Schedule::lr_at(int64_t step) const {
    if (warmup > 0 && step <= warmup) return lr * float(step) / float(warmup);
    if (!cosine) return lr;
    const int64_t span = std::max<int64_t>(1, steps - warmup);
    const double progress = std::min(1.0, double(step - warmup) / double(span));
    const double floor = double(min_lr_ratio) * lr;
    return float(floor + (double(lr) - floor) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

bool glob_match(const std::string& p, const std::string& t) {
    size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
    while (ti < t.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
            ++pi;
            ++ti;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = ti;
        } else if (star != std::string::npos) {
            pi = star + 1;
            ti = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

namespace {

[[noreturn]] void bad(const std::string& file, const std::string& field, const std::string& what) {
    throw Error("train.bad_config", file, field + ": " + what);
}

// Reads one section's keys, refusing unknown ones (a typo must not be silently ignored).
class Section {
public:
    Section(const Json& j, std::string file, std::string prefix) : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {
        if (!j_.is_object()) bad(file_, prefix_.empty() ? "(top level)" : prefix_, "expected a table");
    }
    ~Section() noexcept(false) {
        if (std::uncaught_exceptions()) return;
        for (const auto& [k, v] : j_.items())
            if (!seen_.count(k)) bad(file_, name(k), "unknown setting");
    }
    template <class T>
    void get(const char* key, T& out) {
        seen_.insert(key);
        if (!j_.contains(key)) return;
        try {
            out = j_[key].get<T>();
        } catch (const std::exception&) {
            bad(file_, name(key), "has the wrong type (" + j_[key].dump() + ")");
        }
    }
    const Json* sub(const char* key) {
        seen_.insert(key);
        return j_.contains(key) ? &j_[key] : nullptr;
    }
    std::string name(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }
    const std::string& file() const { return file_; }

private:
    const Json& j_;
    std::string file_, prefix_;
    std::set<std::string> seen_;
};

Json toml_to_json(const toml::node& n) {
    if (const auto* t = n.as_table()) {
        Json j = Json::object();
        for (const auto& [k, v] : *t) j[std::string(k.str())] = toml_to_json(v);
        return j;
    }
    if (const auto* a = n.as_array()) {
        Json j = Json::array();
        for (const auto& v : *a) j.push_back(toml_to_json(v));
        return j;
    }
    if (const auto* s = n.as_string()) return s->get();
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* f = n.as_floating_point()) return f->get();
    if (const auto* b = n.as_boolean()) return b->get();
    return Json();  // dates are not settings of ours
}

}  // namespace

RunConfig RunConfig::from_json(const Json& j, const std::string& file) {
    RunConfig c;
    Section top(j, file, "");
    std::string method = method_name(c.method);
    top.get("model", c.model);
    top.get("tokenizer", c.tokenizer);
    top.get("method", method);
    top.get("out", c.out);
    top.get("backend", c.backend);
    top.get("seed", c.seed);
    top.get("trainable", c.trainable);
    top.get("checkpoint_layers", c.checkpoint_layers);
    top.get("recompute_experts", c.recompute_experts);
    if (method == "full") c.method = TrainMethod::Full;
    else if (method == "lora") c.method = TrainMethod::Lora;
    else if (method == "mtp-head") c.method = TrainMethod::MtpHead;
    else bad(file, "method", "'" + method + "' is not full, lora or mtp-head");
    if (const Json* s = top.sub("scratch")) {
        Section sc(*s, file, "scratch");
        sc.get("config", c.scratch_config);
    }
    if (const Json* d = top.sub("data")) {
        Section sd(*d, file, "data");
        std::vector<std::string> paths;
        std::string malformed = "skip";
        sd.get("paths", paths);
        for (const std::string& p : paths) c.data.sources.push_back(DataSourceSpec::parse(p));
        sd.get("seq_len", c.data.seq_len);
        sd.get("batch", c.data.batch);
        sd.get("accumulation", c.accumulation);
        sd.get("holdout", c.data.holdout_fraction);
        sd.get("fim_rate", c.data.fim_rate);
        sd.get("fim_domains", c.data.fim_domains);
        sd.get("malformed", malformed);
        if (malformed == "skip") c.data.malformed = MalformedPolicy::Skip;
        else if (malformed == "stop") c.data.malformed = MalformedPolicy::Stop;
        else bad(file, "data.malformed", "'" + malformed + "' is not skip or stop");
    }
    if (const Json* l = top.sub("lora")) {
        Section sl(*l, file, "lora");
        sl.get("rank", c.lora.rank);
        sl.get("alpha", c.lora.alpha);
        sl.get("dropout", c.lora.dropout);
        sl.get("targets", c.lora.targets);
    }
    if (const Json* s = top.sub("schedule")) {
        Section ss(*s, file, "schedule");
        std::string decay = c.schedule.cosine ? "cosine" : "constant";
        ss.get("steps", c.schedule.steps);
        ss.get("lr", c.schedule.lr);
        ss.get("warmup", c.schedule.warmup);
        ss.get("decay", decay);
        ss.get("min_lr_ratio", c.schedule.min_lr_ratio);
        ss.get("max_minutes", c.schedule.max_minutes);
        if (decay != "cosine" && decay != "constant") bad(file, "schedule.decay", "'" + decay + "' is not cosine or constant");
        c.schedule.cosine = decay == "cosine";
    }
    if (const Json* o = top.sub("optimizer")) {
        Section so(*o, file, "optimizer");
        so.get("beta1", c.optimizer.beta1);
        so.get("beta2", c.optimizer.beta2);
        so.get("eps", c.optimizer.eps);
        so.get("weight_decay", c.optimizer.weight_decay);
        so.get("clip", c.optimizer.clip);
    }
    if (const Json* o = top.sub("objectives")) {
        Section so(*o, file, "objectives");
        so.get("mtp_lambda", c.objectives.mtp_lambda);
        so.get("balance_alpha", c.objectives.balance_alpha);
        so.get("bias_gamma", c.objectives.bias_gamma);
    }
    if (const Json* i = top.sub("intervals")) {
        Section si(*i, file, "intervals");
        si.get("eval", c.eval_interval);
        si.get("eval_tokens", c.eval_tokens);
        si.get("checkpoint", c.checkpoint_interval);
        si.get("keep_checkpoints", c.keep_checkpoints);
    }
    c.data.seed = c.seed;
    c.lora.seed = c.seed ^ 0x10A4;
    return c;
}

Json RunConfig::to_json() const {
    Json paths = Json::array();
    for (const DataSourceSpec& s : data.sources) paths.push_back(s.domain.empty() ? s.path : s.path + "=" + s.domain);
    Json j{{"model", model},
           {"tokenizer", tokenizer},
           {"method", method_name(method)},
           {"out", out},
           {"backend", backend},
           {"seed", seed},
           {"trainable", trainable},
           {"checkpoint_layers", checkpoint_layers},
           {"recompute_experts", recompute_experts},
           {"data",
            {{"paths", paths},
             {"seq_len", data.seq_len},
             {"batch", data.batch},
             {"accumulation", accumulation},
             {"holdout", data.holdout_fraction},
             {"fim_rate", data.fim_rate},
             {"fim_domains", data.fim_domains},
             {"malformed", malformed_policy_name(data.malformed)}}},
           {"lora", {{"rank", lora.rank}, {"alpha", lora.alpha}, {"dropout", lora.dropout}, {"targets", lora.targets}}},
           {"schedule",
            {{"steps", schedule.steps},
             {"lr", schedule.lr},
             {"warmup", schedule.warmup},
             {"decay", schedule.cosine ? "cosine" : "constant"},
             {"min_lr_ratio", schedule.min_lr_ratio},
             {"max_minutes", schedule.max_minutes}}},
           {"optimizer",
            {{"beta1", optimizer.beta1},
             {"beta2", optimizer.beta2},
             {"eps", optimizer.eps},
             {"weight_decay", optimizer.weight_decay},
             {"clip", optimizer.clip}}},
           {"objectives",
            {{"mtp_lambda", objectives.mtp_lambda},
             {"balance_alpha", objectives.balance_alpha},
             {"bias_gamma", objectives.bias_gamma}}},
           {"intervals",
            {{"eval", eval_interval}, {"eval_tokens", eval_tokens}, {"checkpoint", checkpoint_interval}, {"keep_checkpoints", keep_checkpoints}}}};
    if (!scratch_config.empty()) j["scratch"] = {{"config", scratch_config}};
    return j;
}

RunConfig RunConfig::load(const std::string& file) {
    Json j;
    const std::string ext = fs::path(file).extension().string();
    if (ext == ".toml") {
        try {
            j = toml_to_json(toml::parse_file(file));
        } catch (const toml::parse_error& e) {
            throw Error("train.bad_config", file,
                        std::string(e.description()) + " at line " + std::to_string(e.source().begin.line) +
                            ", column " + std::to_string(e.source().begin.column));
        }
    } else {
        j = load_strict_json_file(file, "train");
    }
    RunConfig c = from_json(j, file);
    // Paths in the file are relative to the file's folder.
    const fs::path base = fs::path(file).parent_path();
    auto resolve = [&](std::string& p) {
        if (!p.empty() && fs::path(p).is_relative()) p = (base / p).lexically_normal().string();
    };
    resolve(c.model);
    resolve(c.scratch_config);
    resolve(c.tokenizer);
    resolve(c.out);
    for (DataSourceSpec& s : c.data.sources) resolve(s.path);
    return c;
}

void RunConfig::validate() const {
    const std::string f = "run";
    if (model.empty() == scratch_config.empty())
        bad(f, "model", "give either a checkpoint (model = \"DIR\") or a from-scratch [scratch] config, not both or neither");
    if (out.empty()) bad(f, "out", "the run needs an output folder (--out DIR)");
    if (data.sources.empty()) bad(f, "data.paths", "the run needs training data (--data PATH)");
    if (schedule.steps <= 0) bad(f, "schedule.steps", "must be positive");
    if (!(schedule.lr > 0.0f) || !std::isfinite(schedule.lr)) bad(f, "schedule.lr", "must be a positive number");
    if (schedule.warmup < 0 || schedule.warmup > schedule.steps) bad(f, "schedule.warmup", "must be within [0, steps]");
    if (accumulation <= 0) bad(f, "data.accumulation", "must be positive");
    if (method == TrainMethod::Lora && lora.rank <= 0) bad(f, "lora.rank", "LoRA needs a positive rank");
    if (lora.dropout < 0.0f || lora.dropout >= 1.0f) bad(f, "lora.dropout", "must be in [0, 1)");
    if (keep_checkpoints <= 0) bad(f, "intervals.keep_checkpoints", "must be at least 1");
    if (eval_interval < 0 || checkpoint_interval < 0) bad(f, "intervals", "intervals are >= 0");
    if (eval_tokens <= 0) bad(f, "intervals.eval_tokens", "must be at least 1");
    if (objectives.mtp_lambda < 0 || objectives.balance_alpha < 0 || objectives.bias_gamma < 0)
        bad(f, "objectives", "λ, α and γ are >= 0");
    data.validate();
}

std::string RunConfig::memory_advice() const {
    std::vector<std::string> keys;
    if (!recompute_experts) keys.push_back("recompute_experts = true");
    if (!checkpoint_layers) keys.push_back("checkpoint_layers = true");
    std::string s = "to need less memory, ";
    for (size_t i = 0; i < keys.size(); ++i) s += (i ? " or " : "set ") + keys[i];
    return s + (keys.empty() ? "" : " in the run file, or ") + "lower [data] batch or seq_len";
}

bool RunConfig::is_trainable(const std::string& name, int64_t num_hidden_layers) const {
    if (method == TrainMethod::Lora) return false;
    if (method == TrainMethod::MtpHead) {
        // The MTP modules (layers >= num_hidden_layers) and nothing of the trunk.
        const std::string p = "model.layers.";
        if (name.rfind(p, 0) != 0) return false;
        return std::stoll(name.substr(p.size())) >= num_hidden_layers;
    }
    if (trainable.empty()) return true;
    for (const std::string& pattern : trainable)
        if (glob_match(pattern, name)) return true;
    return false;
}

}  // namespace moe::train
