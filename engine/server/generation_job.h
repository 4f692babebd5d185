// One completion request as the worker runs it, and the events it sends back to the HTTP thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "server/completion_text.h"
#include "server/event_channel.h"
#include "server/job.h"
#include "server/model_manager.h"
#include "server/openai_protocol.h"

namespace moe::server {

// Whether a request decodes speculatively, decided on the HTTP thread from the request, the
// server's default and the model (docs/api.md "Speculative decoding").
struct SpeculationPlan {
    bool requested = false;    // the request or the server default asked for it
    bool enabled = false;      // it runs: the model has MTP modules
    int64_t draft_tokens = 0;  // drafts per step (clamped to the modules present)
    std::string reason;        // requested but not enabled: why (the reply is decoded plainly)
    std::string warning;       // the draft length asked for was clamped
};

struct GenerationSpec {
    std::shared_ptr<const ModelInfo> model;  // the model the prompt was tokenized for
    std::vector<int32_t> prompt;
    int64_t max_new_tokens = 16;
    SamplingParams sampling;
    bool ignore_eos = false;
    TextOptions text;
    RoutedExpertsRequest routed_experts;
    SpeculationPlan speculation;
    std::string domain;  // acceptance telemetry label ("" = none)
};

struct GenerationOutcome {
    std::string finish_reason;     // "stop" | "length"
    std::string matched_stop;      // the stop sequence that ended it ("" for EOS / length)
    int64_t prompt_tokens = 0;
    int64_t cached_prompt_tokens = 0;  // served from the KV cache (prefix reuse)
    int64_t completion_tokens = 0;
    double time_to_first_token_ms = 0;
    double decode_tokens_per_second = 0;
    Json routed_experts;           // null unless requested
    Json routed_experts_info;      // shape facts for the payload above
    Json routed_expert_weights;    // same layout as routed_experts, float32 (null unless requested)
    Json completion_tokens_json;   // [{"id", "text", "drafted"?}] per completion token (null unless routed experts were requested)
    Json usage_speculative;        // the acceptance counters (null unless speculation ran)
    Json workbench_speculative;    // {enabled, draft_tokens, reason, warning, drafted_tokens} (null unless requested)
};

struct GenerationEvent {
    enum class Kind { Delta, Done, Error } kind = Kind::Delta;
    ReasoningDelta delta;
    GenerationOutcome outcome;
    ApiError error;
};

class GenerationJob : public Job {
public:
    explicit GenerationJob(GenerationSpec spec) : spec_(std::move(spec)) {}

    void run(WorkerContext& ctx) override;
    void abandon(const ApiError& why) override;
    // Plain generations run side by side in slots; a speculative one holds forwards in the shared
    // routing trace (generate/speculative.h), so it has the model to itself.
    bool concurrent() const override { return !spec_.speculation.enabled; }
    std::span<const int32_t> prompt() const override { return spec_.prompt; }

    EventChannel<GenerationEvent>& events() { return events_; }
    const GenerationSpec& spec() const { return spec_; }

private:
    // On `gen` (the slot's, or the model's own): `sequence` is the model sequence it decodes in.
    GenerationOutcome generate(WorkerContext& ctx, ModelRuntime& rt, Generator& gen, int64_t sequence,
                               int64_t stats_request, int64_t speculative_request);
    void add_speculation(GenerationOutcome& out, const GenerationResult& r) const;
    void fail(const ApiError& error);

    GenerationSpec spec_;
    EventChannel<GenerationEvent> events_;
};

}  // namespace moe::server
