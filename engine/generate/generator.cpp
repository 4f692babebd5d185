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

// Greedy choices that need nothing but the argmax (no repetition penalty reshaping the logits):
// the decode steps then choose on the backend (Model::forward_greedy) and read back only the id.
bool plain_greedy(const SamplingParams& p) {
    return (p.greedy || p.temperature <= 0.0f) && p.repetition_penalty == 1.0f;
}
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

GenerationResult Generator::generate(std::span<const int32_t> prompt, const GenerationOptions& options) {
    if (prompt.empty()) throw_invalid_argument("generate needs a non-empty prompt");
    if (int64_t(prompt.size()) > model_.max_context())
        throw Error("model.context_full", "", "the prompt is longer than the model's context capacity");
    std::vector<int32_t> eos = options.eos_token_ids;
    if (eos.empty())
        for (int64_t id : model_.config().eos_token_ids) eos.push_back(int32_t(id));

    GenerationResult result;
    result.prompt_tokens = int64_t(prompt.size());
    Sampler sampler(options.sampling);
    std::vector<int32_t> history(prompt.begin(), prompt.end());  // for the repetition penalty

    const auto t0 = Clock::now();
    std::vector<float> logits = prefill(prompt, result);
    result.prefill_seconds = seconds_since(t0);
    const auto t1 = Clock::now();
    const bool device_greedy = plain_greedy(options.sampling);
    int32_t chosen = -1;  // the next token when the latest step already chose it (device greedy)

    while (true) {
        if (int64_t(result.tokens.size()) >= options.max_new_tokens) {
            result.stop_reason = StopReason::MaxTokens;
            break;
        }
        int32_t next = chosen;
        if (next < 0) {  // the prefill's logits, or a sampled step's
            options.vocabulary.apply(logits);
            next = sampler.sample(logits, history);
        }
        result.tokens.push_back(next);
        history.push_back(next);
        const bool keep_going = !options.on_token || options.on_token(next);
        if (!options.ignore_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
            result.stop_reason = StopReason::Eos;
            break;
        }
        if (!keep_going || (options.should_stop && options.should_stop())) {
            result.stop_reason = StopReason::Callback;
            break;
        }
        if (int64_t(result.tokens.size()) >= options.max_new_tokens) {
            result.stop_reason = StopReason::MaxTokens;
            break;
        }
        if (model_.cached_tokens() >= model_.max_context()) {
            result.stop_reason = StopReason::ContextFull;
            break;
        }
        if (device_greedy) {
            chosen = model_.forward_greedy(next, model_.cached_tokens(), options.vocabulary.masked() > 0 ? options.vocabulary.sampleable() : 0);
        } else {
            const int32_t step[1] = {next};
            const Logits l = model_.forward(step, model_.cached_tokens(), LogitRows::Last);
            logits.assign(l.data.begin(), l.data.end());
        }
        sequence_.push_back(next);
    }
    result.decode_seconds = seconds_since(t1);
    return result;
}

}  // namespace moe
