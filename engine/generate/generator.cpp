#include "generate/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "model/model.h"

namespace moe {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Where every new token goes, from plain and speculative steps alike: the result, the history the
// repetition penalty sees, the caller's callback, and the stop rules (EOS included in the output,
// the callback, max_new_tokens).
class TokenSink {
public:
    TokenSink(const GenerationOptions& options, std::vector<int32_t> eos, GenerationResult& result,
              std::vector<int32_t>& history)
        : options_(options), eos_(std::move(eos)), result_(result), history_(history) {}

    // false: generation stops after this token (result.stop_reason says why).
    bool emit(int32_t token, bool drafted) {
        result_.tokens.push_back(token);
        history_.push_back(token);
        if (result_.speculative) result_.drafted.push_back(drafted);
        const bool keep_going = !options_.on_token || options_.on_token(token);
        if (!options_.ignore_eos && std::find(eos_.begin(), eos_.end(), token) != eos_.end())
            return stop(StopReason::Eos);
        if (!keep_going || (options_.should_stop && options_.should_stop())) return stop(StopReason::Callback);
        if (int64_t(result_.tokens.size()) >= options_.max_new_tokens) return stop(StopReason::MaxTokens);
        return true;
    }

private:
    bool stop(StopReason why) {
        result_.stop_reason = why;
        return false;
    }
    const GenerationOptions& options_;
    std::vector<int32_t> eos_;
    GenerationResult& result_;
    std::vector<int32_t>& history_;
};
}  // namespace

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::Eos:
            return "eos";
        case StopReason::MaxTokens:
            return "max_tokens";
        case StopReason::Callback:
            return "callback";
        case StopReason::ContextFull:
            return "context_full";
    }
    return "?";
}

double GenerationResult::decode_tokens_per_second() const {
    // The first token comes from the prefill; the decode phase produced the rest.
    const int64_t decoded = int64_t(tokens.size()) - 1;
    return decoded > 0 && decode_seconds > 0 ? double(decoded) / decode_seconds : 0.0;
}

Generator::Generator(Model& model) : model_(model) {}

void Generator::reset() {
    sequence_.clear();
    drafter_.reset();
    model_.reset();
}

std::vector<float> Generator::prefill(std::span<const int32_t> prompt, GenerationResult& result) {
    // Reuse the longest cached prefix, but always run at least the last prompt token (its logits
    // are needed). If the model's cache was rolled back behind our back, only what it still holds counts.
    const size_t cached = std::min(sequence_.size(), size_t(model_.cached_tokens()));
    size_t common = 0;
    while (common < cached && common < prompt.size() && sequence_[common] == prompt[common]) ++common;
    common = std::min(common, prompt.size() - 1);
    model_.truncate(int64_t(common));
    sequence_.assign(prompt.begin(), prompt.begin() + std::ptrdiff_t(common));

    const auto rest = prompt.subspan(common);
    const Logits logits = model_.forward(rest, int64_t(common), LogitRows::Last);
    sequence_.insert(sequence_.end(), rest.begin(), rest.end());
    result.prefilled_tokens = int64_t(rest.size());
    return std::vector<float>(logits.data.begin(), logits.data.end());
}

int64_t Generator::step_drafts(int64_t k, int64_t produced, int64_t max_new) const {
    const int64_t room = model_.max_context() - model_.cached_tokens() - 1;  // the verify forward writes N..N+k
    return std::max<int64_t>(0, std::min({k, max_new - produced - 1, room}));
}

int32_t Generator::plain_step(int32_t last, TokenPolicy& policy, std::span<const int32_t> history, uint64_t draw) {
    const int64_t pos = model_.cached_tokens();
    if (policy.argmax_only()) return model_.forward_greedy(last, pos, policy.vocab_limit());
    if (model_.samples_on_backend())
        return model_.forward_sample(last, pos, SampleRequest{policy.sampler().params(), history, draw},
                                     policy.vocab_limit());
    const int32_t step[1] = {last};
    const Logits l = model_.forward(step, pos, LogitRows::Last);
    return policy.choose(l.row(0), history);
}

GenerationResult Generator::generate(std::span<const int32_t> prompt, const GenerationOptions& options) {
    if (prompt.empty()) throw_invalid_argument("generate needs a non-empty prompt");
    if (int64_t(prompt.size()) > model_.max_context())
        throw Error("model.context_full", "", "the prompt is longer than the model's context capacity");
    std::vector<int32_t> eos = options.eos_token_ids;
    if (eos.empty())
        for (int64_t id : model_.config().eos_token_ids) eos.push_back(int32_t(id));

    GenerationResult result;
    result.prompt_tokens = int64_t(prompt.size());
    if (options.speculative.enabled) {
        if (!model_.has_mtp())
            throw Error("generate.no_mtp", "",
                        "speculative decoding drafts with the model's MTP modules, and this model has none "
                        "(moe-engine train --method mtp-head adds one)");
        result.speculative = true;
        result.draft_tokens = effective_draft_tokens(options.speculative.draft_tokens, model_.mtp_modules());
    }
    Sampler sampler(options.sampling);
    TokenPolicy policy(options.vocabulary, sampler);
    std::vector<int32_t> history(prompt.begin(), prompt.end());  // for the repetition penalty
    TokenSink sink(options, std::move(eos), result, history);

    const auto t0 = Clock::now();
    const std::vector<float> logits = prefill(prompt, result);
    result.prefill_seconds = seconds_since(t0);
    const auto t1 = Clock::now();
    if (options.max_new_tokens <= 0) {
        result.stop_reason = StopReason::MaxTokens;
        return result;
    }
    int32_t last = policy.choose(logits, history);
    bool go = sink.emit(last, false);
    while (go) {
        if (model_.cached_tokens() >= model_.max_context()) {
            result.stop_reason = StopReason::ContextFull;
            break;
        }
        const int64_t k = step_drafts(result.draft_tokens, int64_t(result.tokens.size()), options.max_new_tokens);
        if (k > 0) {
            SpeculativeStepContext step{model_, sequence_, drafter_, policy, result.speculation,
                                        [&sink](int32_t token, bool drafted) { return sink.emit(token, drafted); }};
            go = speculative_step(step, last, history, k);
            if (options.on_speculative_step) options.on_speculative_step(result.speculation);
        } else {
            // The draw index counts the tokens so far: the same seed gives the same stream of draws.
            const int32_t next = plain_step(last, policy, history, uint64_t(result.tokens.size()));
            sequence_.push_back(last);
            go = sink.emit(next, false);
        }
        last = result.tokens.back();
    }
    result.decode_seconds = seconds_since(t1);
    return result;
}

}  // namespace moe
