#include "server/generation_job.h"

#include <chrono>
#include <thread>

#include "server/server_stats.h"
#include "server/speculative_telemetry.h"
#include "server/token_pieces.h"

namespace moe::server {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

ApiError model_changed() {
    ApiError e;
    e.status = 503;
    e.code = "model_changed";
    e.message = "the model was unloaded or replaced while this request waited in the queue; send it again";
    e.retry_after_s = 1;
    return e;
}

const char* finish_reason(StopReason r, bool stop_sequence) {
    if (stop_sequence || r == StopReason::Eos) return "stop";
    return "length";  // max_tokens, or the context is full
}

}  // namespace

// The acceptance counters go into `usage`; whether speculation ran (and why not, or what was
// clamped) and which completion tokens were accepted drafts into `workbench`.
void GenerationJob::add_speculation(GenerationOutcome& out, const GenerationResult& r) const {
    const SpeculationPlan& plan = spec_.speculation;
    if (!plan.requested) return;
    Json w = {{"enabled", plan.enabled},
              {"draft_tokens", plan.draft_tokens},
              {"reason", plan.reason.empty() ? Json(nullptr) : Json(plan.reason)},
              {"warning", plan.warning.empty() ? Json(nullptr) : Json(plan.warning)},
              {"drafted_tokens", nullptr}};
    if (r.speculative) {
        out.usage_speculative = r.speculation.to_json();
        out.usage_speculative["draft_tokens"] = r.draft_tokens;
        w["drafted_tokens"] = r.drafted;
        if (out.completion_tokens_json.is_array())
            for (size_t i = 0; i < out.completion_tokens_json.size() && i < r.drafted.size(); ++i)
                out.completion_tokens_json[i]["drafted"] = bool(r.drafted[i]);
    }
    out.workbench_speculative = std::move(w);
}

void GenerationJob::fail(const ApiError& error) {
    GenerationEvent ev;
    ev.kind = GenerationEvent::Kind::Error;
    ev.error = error;
    events_.push(std::move(ev));
    events_.close();
}

void GenerationJob::abandon(const ApiError& why) { fail(why); }

void GenerationJob::run(WorkerContext& ctx) {
    ModelRuntime* rt = ctx.models.runtime();
    if (!rt || ctx.models.info() != spec_.model) return fail(model_changed());
    Generator& gen = ctx.slot ? *ctx.slot->generator : *rt->generator;
    const int64_t sequence = ctx.slot ? ctx.slot->sequence() : 0;
    const int64_t stats_request = ctx.stats.begin_request(int64_t(spec_.prompt.size()), sequence);
    const int64_t spec_request =
        ctx.speculative.begin_request(spec_.domain, spec_.speculation.enabled, spec_.speculation.draft_tokens);
    try {
        GenerationEvent done;
        done.kind = GenerationEvent::Kind::Done;
        done.outcome = generate(ctx, *rt, gen, sequence, stats_request, spec_request);
        const bool cancelled_now = cancelled();
        ctx.stats.end_request(stats_request, cancelled_now ? ServerStats::End::Cancelled : ServerStats::End::Completed,
                              done.outcome.decode_tokens_per_second, done.outcome.cached_prompt_tokens);
        events_.push(std::move(done));
        events_.close();
    } catch (...) {
        ctx.stats.end_request(stats_request, ServerStats::End::Failed, 0, 0);
        ctx.speculative.abort_request(spec_request);
        // A failed forward can leave the KV cache half-written: start the next request from scratch.
        try {
            gen.reset();
        } catch (...) {
            // The model itself is failing; the error below says why.
        }
        fail(current_exception_error(std::current_exception()));
    }
}

GenerationOutcome GenerationJob::generate(WorkerContext& ctx, ModelRuntime& rt, Generator& gen, int64_t sequence,
                                          int64_t stats_request, int64_t speculative_request) {
    CompletionText text(*spec_.model->tokenizer, spec_.text);
    TokenPieces pieces(*spec_.model->tokenizer);
    const bool want_routing = spec_.routed_experts.enabled;
    const int64_t prompt_len = int64_t(spec_.prompt.size());
    const auto t0 = Clock::now();
    double ttft_ms = 0;
    int64_t produced = 0;

    GenerationOptions go;
    go.max_new_tokens = spec_.max_new_tokens;
    go.eos_token_ids = spec_.model->eos_ids;
    go.ignore_eos = spec_.ignore_eos;
    go.vocabulary = spec_.model->vocabulary;  // ids without a token are never generated
    go.sampling = spec_.sampling;
    go.on_token = [&](int32_t id) {
        if (produced++ == 0) ttft_ms = ms_since(t0);
        ctx.stats.on_token(stats_request, prompt_len + produced - 1);  // the KV cache holds every token but the newest
        if (want_routing) pieces.push(id);
        ReasoningDelta d = text.push(id);
        if (!d.empty()) events_.push(GenerationEvent{GenerationEvent::Kind::Delta, std::move(d), {}, {}});
        if (ctx.token_delay.count() > 0) std::this_thread::sleep_for(ctx.token_delay);
        return !text.stopped();
    };
    go.should_stop = [this] { return cancelled(); };
    go.speculative = SpeculativeOptions{spec_.speculation.enabled, spec_.speculation.draft_tokens};
    go.on_speculative_step = [&ctx, speculative_request](const SpeculativeStats& s) {
        ctx.speculative.on_step(speculative_request, s);
    };
    const GenerationResult r = gen.generate(spec_.prompt, go);
    ctx.speculative.end_request(speculative_request, r.speculation, r.decode_tokens_per_second(),
                                int64_t(r.tokens.size()));

    ReasoningDelta tail = text.finish();
    if (!tail.empty()) events_.push(GenerationEvent{GenerationEvent::Kind::Delta, std::move(tail), {}, {}});

    GenerationOutcome out;
    out.finish_reason = finish_reason(r.stop_reason, text.stopped());
    out.matched_stop = text.stopped() ? text.matched_stop() : std::string();
    out.prompt_tokens = r.prompt_tokens;
    out.cached_prompt_tokens = r.prompt_tokens - r.prefilled_tokens;
    out.completion_tokens = int64_t(r.tokens.size());
    out.time_to_first_token_ms = ttft_ms;
    out.decode_tokens_per_second = r.decode_tokens_per_second();
    if (spec_.routed_experts.enabled && rt.recorder) {
        const RoutingRecorder& rec = *rt.recorder;
        const int64_t end = prompt_len + out.completion_tokens - 1;  // the last token was never run
        const int64_t begin = std::min(spec_.routed_experts.start_len, end);
        const auto rows = rec.rows(sequence, begin, end);
        const bool as_json = spec_.routed_experts.format == RoutedExpertsFormat::Json;
        out.routed_experts = routed_experts_value(rows, rec.num_layers(), rec.top_k(), as_json);
        out.routed_experts_info = Json{{"shape", {int64_t(rows.size()) / (rec.num_layers() * rec.top_k()),
                                                  rec.num_layers(), rec.top_k()}},
                                       {"dtype", "int32"},
                                       {"encoding", as_json ? "json" : "base64"},
                                       {"start_len", begin},
                                       {"moe_layers", spec_.model->moe_layers},
                                       {"dense_layer_fill", -1}};
        out.routed_expert_weights =
            routed_expert_weights_value(rec.weight_rows(sequence, begin, end), rec.num_layers(), rec.top_k(), as_json);
        out.completion_tokens_json = pieces.finish();
    }
    add_speculation(out, r);
    return out;
}

}  // namespace moe::server
