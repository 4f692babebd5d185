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

struct GenerationSpec {
    std::shared_ptr<const ModelInfo> model;  // the model the prompt was tokenized for
    std::vector<int32_t> prompt;
    int64_t max_new_tokens = 16;
    SamplingParams sampling;
    bool ignore_eos = false;
    TextOptions text;
    RoutedExpertsRequest routed_experts;
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
    Json completion_tokens_json;   // [{"id", "text"}] per completion token (null unless routed experts were requested)
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

    EventChannel<GenerationEvent>& events() { return events_; }
    const GenerationSpec& spec() const { return spec_; }

private:
    GenerationOutcome generate(WorkerContext& ctx, ModelRuntime& rt);
    void fail(const ApiError& error);

    GenerationSpec spec_;
    EventChannel<GenerationEvent> events_;
};

}  // namespace moe::server
