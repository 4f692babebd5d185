// The one model the server runs: loading (with progress stages), unloading, and what the HTTP
// threads may read while the worker generates.
//
// Two halves with different owners:
//   ModelInfo    - immutable once loaded: id, tokenizer, chat template, shape facts. Shared
//                  (shared_ptr<const>) with HTTP threads, which render and tokenize prompts in parallel.
//   ModelRuntime - checkpoint, backend, model, generator, generation slots, routing recorder.
//                  Touched only by the worker's threads (the generations it runs), so unloading
//                  frees it deterministically (GPU memory must be back before the next model loads).
// load() and unload() run on the worker thread (they are queued like generations).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "generate/generator.h"
#include "generate/vocabulary.h"
#include "server/generation_slots.h"
#include "server/routed_experts.h"
#include "session/model_session.h"
#include "telemetry/routing_trace.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace moe::server {

struct ModelInfo {
    std::string id;   // the name clients send as "model"
    std::string dir;
    int64_t created = 0;  // unix seconds of the load
    std::string architecture;
    std::string backend;         // "cpu" | "cuda": the backend the model runs on
    std::string backend_detail;  // the backend's own description ("cuda: NVIDIA H100 ... (sm_90, ...)")
    std::shared_ptr<const Tokenizer> tokenizer;
    VocabularyMask vocabulary;          // the ids generations may produce (generate/vocabulary.h)
    std::optional<ChatTemplate> chat_template;
    std::string bos_token, eos_token;
    std::vector<int32_t> eos_ids;       // config's eos_token_ids + the tokenizer's eos
    bool reasoning = false;             // the model writes <think>...</think> (R1 style)
    int64_t max_context = 0;            // KV-cache capacity in tokens
    int64_t num_layers = 0;             // decoder layers (the routed-experts layer axis)
    int64_t top_k = 0;                  // experts per token (0: dense model)
    int64_t n_experts = 0;
    std::vector<int64_t> moe_layers;
    int64_t mtp_modules = 0;            // MTP modules the model can draft with (speculative decoding)
    int64_t parallel_requested = 1;     // serve --parallel: generations asked to run side by side
    int64_t parallel_slots = 0;         // generation slots made (0: generations run one at a time)
    std::string parallel_limit;         // why fewer slots than asked for ("" when none)
    // Tokens the KV caches hold in all: one sequence, plus one per slot.
    int64_t kv_capacity_tokens() const { return max_context * (1 + parallel_slots); }

    bool is_moe() const { return !moe_layers.empty(); }
    Json to_json() const;  // a /v1/models entry
};

struct ModelRuntime {
    ModelSession session;
    std::unique_ptr<Generator> generator;  // sequence 0: generations that run alone
    GenerationSlots slots;                 // serve --parallel: generations that run side by side
    std::unique_ptr<RoutingRecorder> recorder;
    ~ModelRuntime();  // recorder, slots and generator go before the model they observe
};

struct LoadOptions {
    std::string dir;
    std::string id;              // "" = the directory's name
    std::string backend = "auto";
    int64_t max_context = 4096;
    int64_t parallel = 1;  // generations decoded side by side (serve --parallel)
};

// stage: "checkpoint" | "backend" | "weights" | "tokenizer" | "ready"; detail: extra facts.
using LoadProgress = std::function<void(const std::string& stage, const std::string& message, const Json& detail)>;

class ModelManager {
public:
    ModelManager() = default;
    ~ModelManager();
    ModelManager(const ModelManager&) = delete;
    ModelManager& operator=(const ModelManager&) = delete;

    // Any thread. nullptr when no model is loaded.
    std::shared_ptr<const ModelInfo> info() const;
    // Any thread: cumulative routing of the loaded model (nullopt when none is loaded).
    std::optional<RoutingSnapshot> routing_snapshot() const;
    // Any thread: memory of the accelerator the loaded model runs on (Backend::device_memory;
    // nullopt without a model or on the CPU backend).
    std::optional<Backend::DeviceMemory> device_memory() const;
    // Any thread: the batched decode steps of the generation slots so far (zeros without slots).
    DecodeBatcherStats batch_stats() const;

    // Worker thread only. load() replaces the current model (it is unloaded first, so its memory is
    // free for the new one). Throws moe::Error; on failure no model is loaded.
    void load(const LoadOptions& options, const LoadProgress& progress);
    std::shared_ptr<const ModelInfo> unload();  // the model that was unloaded, or nullptr
    ModelRuntime* runtime() { return runtime_.get(); }

private:
    mutable std::mutex mutex_;  // guards info_ and the runtime_ pointer (not what the runtime does)
    std::shared_ptr<const ModelInfo> info_;
    std::unique_ptr<ModelRuntime> runtime_;
};

// True when the directory exists (checked before a load is queued, for a quick 404).
bool is_directory(const std::string& path);

}  // namespace moe::server
