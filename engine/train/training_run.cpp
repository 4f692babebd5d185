#include "train/training_run.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/error.h"
#include "core/staging_dir.h"
#include "cpu/cpu_backend.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/tensor_file_writer.h"
#include "tokenizer/tokenizer.h"
#include "train/data/dataset.h"
#include "train/flops.h"
#include "train/grad_outputs.h"
#include "train/parameters.h"
#include "train/train_graph.h"
#include "train/trainer.h"

namespace moe::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kCheckpointFormat = 1;
constexpr int64_t kMaxSkippedInARow = 5;

std::string checkpoint_dir(const std::string& out, int64_t step) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
    return (fs::path(out) / "checkpoints" / name).string();
}

MicroBatch to_micro_batch(const PackedBatch& p) {
    MicroBatch m;
    m.n_seq = p.batch;
    m.seq_len = p.seq_len;
    m.tokens = p.tokens;
    m.targets = p.targets;
    m.positions = p.positions;
    m.seg_start = p.segment_start;
    return m;
}

// Overwrites an existing backend tensor with host values (weights keep viewing its storage).
void assign(Backend& be, Tensor& t, const std::vector<float>& v) {
    be.zero(t);
    be.scale_add(t, be.upload(v, t.rows(), t.cols()), 1.0f);
}

std::map<std::string, std::vector<float>> read_f32_tensors(const std::string& path) {
    std::map<std::string, std::vector<float>> out;
    auto f = SafetensorsFile::open(path);
    for (const TensorInfo& t : f->tensors()) {
        if (t.dtype != DType::F32) throw Error("checkpoint.bad_dtype", path, "tensor " + t.name + " is not F32", t.name);
        std::vector<float> v(static_cast<size_t>(t.numel()));
        std::memcpy(v.data(), t.data, t.nbytes);
        out[t.name] = std::move(v);
    }
    return out;
}

}  // namespace

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
    std::vector<std::string> out;
    std::error_code ec;
    const fs::path dir = fs::path(run_dir) / "checkpoints";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos &&
            fs::exists(e.path() / "state.json"))
            out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

TrainingRun::TrainingRun(RunConfig config, EventSink sink, std::unique_ptr<Backend> backend)
    : config_(std::move(config)), sink_(std::move(sink)), backend_(std::move(backend)) {
    config_.validate();
    // run.json and checkpoints name absolute paths: export and resume work from any folder.
    auto absolute = [](std::string& p) {
        if (!p.empty()) p = fs::absolute(p).lexically_normal().string();
    };
    absolute(config_.model);
    absolute(config_.scratch_config);
    absolute(config_.tokenizer);
    absolute(config_.out);
    for (DataSourceSpec& s : config_.data.sources) absolute(s.path);
    if (!backend_) backend_ = std::make_unique<CpuBackend>();
    fs::create_directories(config_.out);
    open_model();
    open_data();
    resume_if_possible();
    write_file_atomic((fs::path(config_.out) / "run.json").string(), config_.to_json().dump(2) + "\n");
}

TrainingRun::~TrainingRun() = default;

void TrainingRun::open_model() {
    ModelConfig mc;
    std::string tokenizer_dir = config_.tokenizer;
    if (!config_.model.empty()) {
        checkpoint_ = Checkpoint::open(config_.model);
        mc = checkpoint_->config();
        if (tokenizer_dir.empty()) tokenizer_dir = config_.model;
    } else {
        mc = load_model_config(config_.scratch_config);
        if (tokenizer_dir.empty()) tokenizer_dir = fs::path(config_.scratch_config).parent_path().string();
    }
    config_.tokenizer = tokenizer_dir;  // run.json names it: export copies its files
    tokenizer_ = Tokenizer::load(tokenizer_dir);
    const bool has_mtp = checkpoint_ ? checkpoint_->num_mtp_layers() > 0 : mc.num_nextn_predict_layers > 0;
    TrainableSpec spec;
    // mtp-head on a checkpoint without MTP modules adds one (initialised from its last layer and head).
    spec.add_mtp = config_.method == TrainMethod::MtpHead && !has_mtp;
    if (config_.objectives.mtp_lambda > 0.0f && !has_mtp && !spec.add_mtp)
        throw Error("train.no_mtp_modules", checkpoint_ ? checkpoint_->dir() : config_.scratch_config,
                    "mtp_lambda > 0 needs MTP modules and the model has none; method mtp-head adds one");
    // Training only the MTP heads with no MTP loss would train nothing.
    if (config_.method == TrainMethod::MtpHead && config_.objectives.mtp_lambda <= 0.0f) config_.objectives.mtp_lambda = 1.0f;
    spec.checkpoint = checkpoint_.get();
    spec.config = mc;
    spec.init_seed = config_.seed;
    const int64_t layers = mc.num_hidden_layers;
    spec.trainable = [this, layers](const std::string& name) { return config_.is_trainable(name, layers); };
    if (config_.method == TrainMethod::Lora) spec.lora = config_.lora;
    params_ = std::make_unique<ParameterStore>(*backend_);
    GraphOptions options;
    options.checkpoint_layers = config_.checkpoint_layers;
    options.recompute_experts = config_.recompute_experts;
    graph_ = make_train_graph(spec, *params_, options);
    if (params_->parameters().empty())
        throw Error("train.nothing_to_train", config_.out, "no tensor matches the run's trainable patterns");
    trainer_ = std::make_unique<Trainer>(*graph_, *params_, config_.objectives, config_.optimizer);
    active_flops_per_token_ = train_flops_per_token(graph_->config(), config_.data.seq_len, config_.objectives.mtp_lambda > 0);
    if (spec.add_mtp) emit(Json{{"event", "note"}, {"message", "the checkpoint stores no MTP module: one is added as layer " +
                                                                  std::to_string(mc.num_hidden_layers) +
                                                                  ", initialised from the last layer and the head"}},
                           false);
}

void TrainingRun::open_data() {
    data_ = std::make_unique<Dataset>(config_.data, *tokenizer_);
    const Json report = data_report();
    write_file_atomic((fs::path(config_.out) / "data_report.json").string(), report.dump(2) + "\n");
    emit(Json{{"event", "data_report"}, {"report", report}}, false);
    Json plan{{"event", "plan"},
              {"method", method_name(config_.method)},
              {"backend", backend_->name()},
              {"trainable_parameters", params_->trainable_elements()},
              {"tensors", params_->parameters().size()},
              {"steps", config_.schedule.steps},
              {"tokens_per_step", config_.data.batch * config_.data.seq_len * config_.accumulation},
              {"flops_per_token", active_flops_per_token_},
              {"memory", memory_estimate()}};
    emit(plan, false);
}

// The routed experts' rows a GPU forward keeps for the backward, in floats per token and MoE layer
// (bf16 gate/up products and outputs of its top-k slots).
double kept_expert_row_floats(const ModelConfig& c, bool kept) {
    if (!kept || !c.is_deepseek() || c.n_routed_experts == 0) return 0.0;
    return double(c.num_experts_per_tok) * (2.0 * double(c.moe_intermediate_size) + double(c.hidden_size)) / 2.0;
}

// Bytes the run needs (an estimate before the first step; the CUDA bench compares it with the
// device): frozen weights as the backend holds them, F32 masters + gradients + AdamW moments, the
// backend's copies of trained weights, and the saved activations of one micro-batch.
Json TrainingRun::memory_estimate() const {
    const ModelConfig& c = graph_->config();
    const bool gpu = backend_->name() != "cpu";
    const double n = double(params_->trainable_elements());
    double stored = 0.0;
    if (checkpoint_)
        for (const auto& [name, t] : checkpoint_->tensors()) stored += double(t.numel());
    const double frozen = std::max(0.0, stored - n) * (gpu ? 2.0 : 0.0);  // CPU: mmapped, not resident
    const double rows = double(config_.data.batch * config_.data.seq_len);
    const double layers = double(c.num_hidden_layers + (config_.objectives.mtp_lambda > 0 ? c.num_nextn_predict_layers : 0));
    const double per_row = 12.0 * double(c.hidden_size) +
                           (c.is_deepseek() ? 4.0 * double(c.num_attention_heads * (c.qk_head_dim() + c.v_head_dim)) +
                                                  3.0 * double(c.kv_lora_rank) +
                                                  4.0 * double(c.num_experts_per_tok * c.moe_intermediate_size)
                                            : 6.0 * double(c.num_attention_heads * c.head_dim)) +
                           3.0 * double(c.intermediate_size) +
                           kept_expert_row_floats(c, gpu && !config_.recompute_experts);
    const double activations = (config_.checkpoint_layers ? 1.0 : layers) * rows * per_row * 4.0 +
                               double(c.num_attention_heads) * rows * double(config_.data.seq_len) * 6.0;  // scores
    const double logits = std::min(rows, double(int64_t(1) << 26) / double(c.vocab_size)) * double(c.vocab_size) * 8.0;
    const Json m{{"frozen_weights", frozen},
                 {"masters", 4.0 * n},
                 {"gradients", 4.0 * n},
                 {"adamw", 8.0 * n},
                 {"weight_copies", gpu ? 2.0 * n : 0.0},
                 {"activations", activations},
                 {"workspace", logits}};
    double total = 0.0;
    for (const auto& [k, v] : m.items()) total += v.get<double>();
    Json out = m;
    out["total"] = total;
    return out;
}

// Per domain (in the order of the eval events' names): documents, and samples / tokens / tokens with
// loss of the training and held-out splits; the totals; what was cut, skipped or malformed.
Json TrainingRun::data_report() const { return data_->report().to_json(); }

int64_t TrainingRun::step() const { return trainer_->steps_done(); }

Json TrainingRun::status() const {
    return Json{{"state", state_},
                {"step", step()},
                {"steps", config_.schedule.steps},
                {"out", config_.out},
                {"last_checkpoint", last_checkpoint_},
                {"metrics", last_metrics_}};
}

void TrainingRun::emit(const Json& event, bool history) {
    if (history) {
        std::ofstream h(fs::path(config_.out) / "history.jsonl", std::ios::app);
        h << event.dump() << "\n";
    }
    if (sink_) sink_(event);
}

std::vector<MicroBatch> TrainingRun::next_micro_batches() {
    std::vector<MicroBatch> mbs;
    for (int64_t i = 0; i < config_.accumulation; ++i) mbs.push_back(to_micro_batch(data_->next_train()));
    return mbs;
}

StepResult TrainingRun::step_or_advise(const std::vector<MicroBatch>& mbs, float lr) {
    try {
        return trainer_->step(mbs, lr);
    } catch (const Error& e) {
        if (e.code() != "cuda.out_of_memory") throw;
        throw Error(e.code(), e.file(), e.detail() + "; " + config_.memory_advice(), e.tensor());
    }
}

Json TrainingRun::step_event(const StepResult& r, double seconds, int64_t tokens) const {
    Json layers = Json::object();
    for (const auto& [layer, b] : r.balance)
        layers[std::to_string(layer)] = Json{{"maxvio", b.maxvio}, {"load", b.load}, {"bias", b.bias_after}};
    const double tps = seconds > 0 ? double(tokens) / seconds : 0.0;
    return Json{{"event", "step"},
                {"step", r.step},
                {"steps", config_.schedule.steps},
                {"ce", r.ce},
                {"ce_mtp", r.ce_mtp},
                {"l_mtp", r.l_mtp},
                {"l_bal", r.l_bal},
                {"total", r.total},
                {"lr", r.lr},
                {"grad_norm", r.grad_norm},
                {"clip", r.clip_coef},
                {"tokens", tokens},
                {"tokens_per_s", tps},
                {"flops_per_s", tps * active_flops_per_token_},
                {"step_s", seconds},
                {"skipped", r.skipped},
                {"skip_reason", r.skip_reason},
                {"layers", layers}};
}

// Per-domain held-out loss, perplexity and expert load: each domain's held-out samples packed on
// their own so the loads belong to that domain alone.
Json TrainingRun::evaluate() {
    std::map<int32_t, std::vector<const Sample*>> by_domain;
    for (const Sample& s : data_->holdout_samples()) by_domain[s.domain].push_back(&s);
    Json domains = Json::object();
    const int64_t L = config_.data.seq_len;
    for (const auto& [d, samples] : by_domain) {
        std::vector<int64_t> lengths;
        std::vector<int32_t> order;
        // At most eval_tokens per domain: a large held-out split must not stall the run at each eval.
        int64_t taken = 0;
        for (size_t i = 0; i < samples.size() && taken < config_.eval_tokens; ++i) {
            lengths.push_back(std::min<int64_t>(int64_t(samples[i]->tokens.size()), L));
            order.push_back(int32_t(i));
            taken += lengths.back();
        }
        double nll = 0.0;
        int64_t n = 0;
        std::map<int64_t, std::vector<int64_t>> loads;
        for (const auto& seq : pack_first_fit(lengths, order, L)) {
            PackedBatch b = padding_batch(1, L, data_->pad_id());
            std::vector<const Sample*> group;
            for (int32_t i : seq) group.push_back(samples[size_t(i)]);
            write_sequence(b, 0, group);
            std::map<int64_t, std::vector<int64_t>> l;
            const std::vector<float> row_nll = graph_->evaluate(to_micro_batch(b), &l);
            for (size_t r = 0; r < row_nll.size(); ++r)
                if (b.targets[r] >= 0) {
                    nll += row_nll[r];
                    ++n;
                }
            for (const auto& [layer, hits] : l) {
                std::vector<int64_t>& dst = loads[layer];
                dst.resize(hits.size(), 0);
                for (size_t e = 0; e < hits.size(); ++e) dst[e] += hits[e];
            }
        }
        Json load = Json::object();
        for (const auto& [layer, hits] : loads) load[std::to_string(layer)] = hits;
        const double loss = n > 0 ? nll / double(n) : 0.0;
        domains[data_->domain_names()[size_t(d)]] =
            Json{{"loss", loss}, {"ppl", std::exp(loss)}, {"tokens", n}, {"load", load}};
    }
    // The routing bias the loads were measured with: the eval before step 1 is the model's own.
    Json bias = Json::object();
    for (const RoutingBiasRef& ref : graph_->routing_biases()) bias[std::to_string(ref.layer)] = *ref.host;
    return Json{{"event", "eval"}, {"step", step()}, {"domains", domains}, {"routing_bias", bias}};
}

std::string TrainingRun::save_checkpoint() {
    const std::string dir = checkpoint_dir(config_.out, step());
    StagingDir sd(dir, /*replace=*/true);
    std::map<std::string, TensorToWrite> values, moments;
    for (const Parameter* p : params_->parameters()) {
        values[p->name] = f32_tensor(backend_->download(p->value), {p->rows(), p->cols()});
        if (!p->exp_avg.empty()) {
            moments[p->name + ".exp_avg"] = f32_tensor(backend_->download(p->exp_avg), {p->rows(), p->cols()});
            moments[p->name + ".exp_avg_sq"] = f32_tensor(backend_->download(p->exp_avg_sq), {p->rows(), p->cols()});
        }
    }
    write_safetensors(sd.file("params.safetensors"), values);
    write_safetensors(sd.file("optimizer.safetensors"), moments);
    Json biases = Json::object();
    for (const RoutingBiasRef& b : graph_->routing_biases()) biases[std::to_string(b.layer)] = *b.host;
    const Json state{{"format", kCheckpointFormat},
                     {"step", step()},
                     {"cursor", data_->cursor().to_json()},
                     {"routing_bias", biases},
                     {"config", config_.to_json()}};
    write_file_atomic(sd.file("state.json"), state.dump(2) + "\n");
    // Test hook (tests/train/run_test.cpp): hold the half-written checkpoint so a kill -9 lands mid-save.
    if (const char* delay = std::getenv("MOE_TRAIN_SAVE_DELAY_MS"))
        std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
    sd.commit();
    last_checkpoint_ = dir;
    prune_checkpoints();
    return dir;
}

void TrainingRun::prune_checkpoints() {
    std::vector<std::string> all = list_checkpoints(config_.out);
    std::error_code ec;
    for (size_t i = 0; i + size_t(config_.keep_checkpoints) < all.size(); ++i) fs::remove_all(all[i], ec);
}

// The latest complete checkpoint of this run (a folder killed mid-save is a ".partial-" sibling
// and is removed here): weights, AdamW moments, step, data cursor and routing biases.
void TrainingRun::resume_if_possible() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(config_.out) / "checkpoints", ec))
        if (e.path().filename().string().find(".partial-") != std::string::npos) fs::remove_all(e.path(), ec);
    const std::vector<std::string> all = list_checkpoints(config_.out);
    if (all.empty()) return;
    const std::string dir = all.back();
    const Json state = load_strict_json_file(dir + "/state.json", "checkpoint");
    if (state.value("format", 0) != kCheckpointFormat)
        throw Error("checkpoint.bad_format", dir, "unknown checkpoint format " + state["format"].dump());
    const Json saved = state["config"];
    for (const char* k : {"model", "method", "data", "lora", "seed"})
        if (saved[k] != config_.to_json()[k])
            throw Error("checkpoint.config_mismatch", dir,
                        std::string("the run in ") + config_.out + " was started with another '" + k +
                            "'; use another --out or the same settings to resume");
    const auto values = read_f32_tensors(dir + "/params.safetensors");
    const auto moments = read_f32_tensors(dir + "/optimizer.safetensors");
    for (Parameter* p : params_->parameters()) {
        auto it = values.find(p->name);
        if (it == values.end() || int64_t(it->second.size()) != p->numel())
            throw Error("checkpoint.missing_tensor", dir, "no saved value for " + p->name, p->name);
        assign(*backend_, p->value, it->second);
        auto m = moments.find(p->name + ".exp_avg"), v = moments.find(p->name + ".exp_avg_sq");
        if (m != moments.end() && v != moments.end()) {
            p->exp_avg = backend_->upload(m->second, p->rows(), p->cols());
            p->exp_avg_sq = backend_->upload(v->second, p->rows(), p->cols());
        }
    }
    params_->refresh_weights();
    for (RoutingBiasRef& b : graph_->routing_biases()) {
        const std::string key = std::to_string(b.layer);
        if (!state["routing_bias"].contains(key)) continue;
        *b.host = state["routing_bias"][key].get<std::vector<float>>();
        *b.bias = backend_->upload(*b.host, 1, int64_t(b.host->size()));
    }
    const int64_t step_saved = state["step"].get<int64_t>();
    trainer_->set_steps_done(step_saved);
    data_->seek(DataCursor::from_json(state["cursor"]));
    // The history continues from the checkpoint: later lines belong to steps that will be redone.
    const fs::path hist = fs::path(config_.out) / "history.jsonl";
    std::ifstream in(hist);
    std::string line, kept;
    while (std::getline(in, line)) {
        const Json e = parse_strict_json(line, hist.string(), "history");
        if (e.value("step", int64_t(0)) <= step_saved) kept += line + "\n";
    }
    write_file_atomic(hist.string(), kept);
    last_checkpoint_ = dir;
    emit(Json{{"event", "resumed"}, {"step", step_saved}, {"checkpoint", dir}}, false);
    spdlog::info("resumed {} at step {}", config_.out, step_saved);
}

Json TrainingRun::run(RunControl& ctl) {
    state_ = "running";
    int64_t skipped_in_a_row = 0;
    bool announced_pause = false;
    const auto started = Clock::now();
    const int64_t first = step();
    // The model as it was before any step: what the run's losses and expert loads are compared with.
    if (first == 0 && config_.eval_interval > 0) emit(evaluate(), true);
    while (step() < config_.schedule.steps) {
        if (ctl.cancel) {
            state_ = "cancelled";
            save_checkpoint();
            const Json e{{"event", "cancelled"}, {"step", step()}, {"checkpoint", last_checkpoint_}};
            emit(e, false);
            return e;
        }
        if (ctl.pause || (ctl.may_step && !ctl.may_step())) {
            if (ctl.pause && !announced_pause) {
                state_ = "paused";
                emit(Json{{"event", "paused"}, {"step", step()}}, false);
                announced_pause = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (announced_pause) {
            state_ = "running";
            emit(Json{{"event", "resumed"}, {"step", step()}}, false);
            announced_pause = false;
        }
        const std::vector<MicroBatch> mbs = next_micro_batches();
        int64_t tokens = 0;
        for (const MicroBatch& m : mbs)
            for (int32_t t : m.targets) tokens += t >= 0 ? 1 : 0;
        const auto t0 = Clock::now();
        const double budget_s = config_.schedule.max_minutes * 60.0;
        const double used_s = std::chrono::duration<double>(Clock::now() - started).count();
        const float lr = budget_s > 0 ? config_.schedule.lr_at_progress(step() + 1, used_s / budget_s)
                                      : config_.schedule.lr_at(step() + 1);
        const StepResult r = step_or_advise(mbs, lr);
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        Json ev = step_event(r, seconds, tokens);
        const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        const int64_t done = std::max<int64_t>(1, step() - first);
        ev["elapsed_s"] = elapsed;
        ev["eta_s"] = elapsed / double(done) * double(config_.schedule.steps - step());
        last_metrics_ = ev;
        emit(ev, true);
        if (r.skipped) {
            if (++skipped_in_a_row >= kMaxSkippedInARow)
                throw Error("train.diverged", config_.out,
                            std::to_string(skipped_in_a_row) + " steps in a row had a non-finite loss or gradient (" +
                                r.skip_reason + "); lower the learning rate");
            continue;
        }
        skipped_in_a_row = 0;
        const bool out_of_time = config_.schedule.max_minutes > 0 &&
                                 std::chrono::duration<double>(Clock::now() - started).count() >=
                                     config_.schedule.max_minutes * 60.0;
        const bool last = step() == config_.schedule.steps || out_of_time;
        if (config_.eval_interval > 0 && (step() % config_.eval_interval == 0 || last)) emit(evaluate(), true);
        if ((config_.checkpoint_interval > 0 && step() % config_.checkpoint_interval == 0) || last)
            emit(Json{{"event", "checkpoint"}, {"step", step()}, {"path", save_checkpoint()}}, false);
        if (out_of_time) break;
    }
    state_ = "done";
    const Json e{{"event", "done"}, {"step", step()}, {"checkpoint", last_checkpoint_}, {"metrics", last_metrics_}};
    emit(e, false);
    return e;
}

}  // namespace moe::train
