#include "server/model_manager.h"

#include <chrono>
#include <ctime>
#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/model.h"

namespace moe::server {
namespace {

using Clock = std::chrono::steady_clock;

// Device memory the generation slots leave free: a batched step's activations and the backend's
// workspace.
constexpr uint64_t kSlotReserveBytes = uint64_t(1) << 30;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string default_id(const std::string& dir) {
    std::filesystem::path p(dir);
    if (p.filename().empty()) p = p.parent_path();  // "models/x/" -> "x"
    return p.filename().string();
}

const char* arch_name(const ModelConfig& c) { return c.model_type.empty() ? "unknown" : c.model_type.c_str(); }

// R1-style templates open the reasoning (`<｜Assistant｜><think>\n`) or strip it from earlier turns
// (`content.split('</think>')`). The tags being tokens says nothing: DeepSeek-V3, which never thinks,
// shares R1's vocabulary, and so does the demo model's tokenizer.
bool writes_reasoning(const std::string& template_source) {
    return template_source.find("<think>") != std::string::npos || template_source.find("</think>") != std::string::npos;
}

std::vector<int32_t> eos_ids(const ModelConfig& config, const Tokenizer& tok) {
    std::vector<int32_t> ids;
    for (int64_t id : config.eos_token_ids) ids.push_back(int32_t(id));
    if (tok.eos_id() >= 0 && std::find(ids.begin(), ids.end(), tok.eos_id()) == ids.end()) ids.push_back(tok.eos_id());
    return ids;
}

std::shared_ptr<ModelInfo> describe(const LoadOptions& o, const Model& model, std::shared_ptr<const Tokenizer> tok,
                                    const std::string& backend_name) {
    auto info = std::make_shared<ModelInfo>();
    const ModelConfig& c = model.config();
    info->id = o.id.empty() ? default_id(o.dir) : o.id;
    info->dir = o.dir;
    info->created = int64_t(std::time(nullptr));
    info->architecture = arch_name(c);
    info->backend = backend_name.rfind("cuda", 0) == 0 ? "cuda" : backend_name;
    info->backend_detail = backend_name;
    const TokenizerConfig& tc = tok->config();
    if (!tc.chat_template.empty()) info->chat_template = ChatTemplate::compile(tc.chat_template, "chat_template");
    info->bos_token = tc.bos_token.value_or("");
    info->eos_token = tc.eos_token.value_or("");
    info->eos_ids = eos_ids(c, *tok);
    info->reasoning = writes_reasoning(tc.chat_template);
    info->max_context = model.max_context();
    info->num_layers = c.num_hidden_layers;
    for (int64_t layer : model.routing_trace().layers())
        if (layer < c.num_hidden_layers) info->moe_layers.push_back(layer);
    info->top_k = info->moe_layers.empty() ? 0 : c.num_experts_per_tok;
    info->n_experts = info->moe_layers.empty() ? 0 : c.n_routed_experts;
    info->vocabulary = vocabulary_mask(c, *tok);
    info->mtp_modules = model.mtp_modules();
    info->tokenizer = std::move(tok);
    return info;
}

}  // namespace

Json ModelInfo::to_json() const {
    return Json{{"id", id},
                {"object", "model"},
                {"created", created},
                {"owned_by", "moe-workbench"},
                {"root", dir},
                {"architecture", architecture},
                {"backend", backend},
                {"backend_detail", backend_detail},
                {"max_context", max_context},
                {"num_layers", num_layers},
                {"moe_layers", moe_layers},
                {"n_routed_experts", n_experts},
                {"num_experts_per_tok", top_k},
                {"mtp_modules", mtp_modules},
                {"reasoning", reasoning},
                {"chat_template", chat_template.has_value()},
                {"vocabulary", vocabulary_json(vocabulary)}};
}

ModelRuntime::~ModelRuntime() {
    recorder.reset();
    slots.clear();
    generator.reset();
}

ModelManager::~ModelManager() { unload(); }

std::shared_ptr<const ModelInfo> ModelManager::info() const {
    std::lock_guard lock(mutex_);
    return info_;
}

std::optional<RoutingSnapshot> ModelManager::routing_snapshot() const {
    std::lock_guard lock(mutex_);  // the runtime cannot be destroyed meanwhile
    if (!runtime_) return std::nullopt;
    return runtime_->session.model->routing_trace().snapshot();
}

std::optional<Backend::DeviceMemory> ModelManager::device_memory() const {
    std::lock_guard lock(mutex_);  // the runtime cannot be destroyed meanwhile
    if (!runtime_) return std::nullopt;
    return runtime_->session.backend->device_memory();
}

DecodeBatcherStats ModelManager::batch_stats() const {
    std::lock_guard lock(mutex_);  // the runtime cannot be destroyed meanwhile
    return runtime_ ? runtime_->slots.batch_stats() : DecodeBatcherStats{};
}

std::shared_ptr<const ModelInfo> ModelManager::unload() {
    std::unique_ptr<ModelRuntime> old;
    std::shared_ptr<const ModelInfo> old_info;
    {
        std::lock_guard lock(mutex_);
        old = std::move(runtime_);
        old_info = std::move(info_);
    }
    old.reset();  // outside the lock: freeing a large model takes a while
    return old_info;
}

void ModelManager::load(const LoadOptions& o, const LoadProgress& progress) {
    unload();
    const auto t0 = Clock::now();
    auto rt = std::make_unique<ModelRuntime>();
    progress("checkpoint", "opening and validating the checkpoint", Json::object());
    rt->session.checkpoint = Checkpoint::open(o.dir);
    const Checkpoint& ck = *rt->session.checkpoint;
    progress("backend", "starting the " + o.backend + " backend",
             Json{{"files", ck.files().size()}, {"tensors", ck.tensors().size()}, {"seconds", seconds_since(t0)}});
    rt->session.backend = make_backend(o.backend);
    progress("weights", "building the model", Json{{"seconds", seconds_since(t0)}});
    ModelOptions mo;
    mo.max_context = o.max_context;
    rt->session.model = load_model(ck, *rt->session.backend, mo);
    progress("tokenizer", "loading the tokenizer and chat template", Json{{"seconds", seconds_since(t0)}});
    std::shared_ptr<const Tokenizer> tok = Tokenizer::load(o.dir);
    auto info = describe(o, *rt->session.model, std::move(tok), rt->session.backend->name());
    rt->generator = std::make_unique<Generator>(*rt->session.model);
    const auto memory = rt->session.backend->device_memory();
    rt->slots = GenerationSlots(*rt->session.model, o.parallel, kSlotReserveBytes,
                                memory ? std::optional<uint64_t>(memory->free_bytes) : std::nullopt);
    info->parallel_requested = rt->slots.requested();
    info->parallel_slots = int64_t(rt->slots.size());
    info->parallel_limit = rt->slots.limit_reason();
    if (info->is_moe())
        rt->recorder = std::make_unique<RoutingRecorder>(rt->session.model->routing_trace(), info->num_layers, info->top_k);
    {
        std::lock_guard lock(mutex_);
        runtime_ = std::move(rt);
        info_ = std::move(info);
    }
    progress("ready", "loaded", Json{{"seconds", seconds_since(t0)}});
}

bool is_directory(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

}  // namespace moe::server
