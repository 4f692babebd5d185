// The host side of a model's sampled decode steps (Model::forward_sample): the backend's
// TokenSampler, made once per model so that a recorded step keeps reading the same device
// buffers, and what its device state holds, so that each step uploads only what changed:
//   - the parameters and the draw index: when they differ from what the previous step left (a
//     generation's steps count up from the draw index the device already holds: nothing to send);
//   - the history: a request whose history extends the one the device holds (the next step of
//     a generation, a chat turn continuing the last reply) adds its new tokens; any other starts
//     the device's history over. Without a repetition penalty the history is neither compared
//     nor sent (the device does not read it).
// The device adds each drawn id to its history itself (TokenSampler::sample), and the generator
// appends the same id to its own: in steady decoding a step sends nothing but its token and position.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "model/backend.h"
#include "model/model.h"

namespace moe {

class StepSampler {
public:
    StepSampler(Backend& backend, int64_t vocab);
    // Over a given sampler (tests).
    explicit StepSampler(std::unique_ptr<TokenSampler> sampler) : sampler_(std::move(sampler)) {}

    // false: the backend samples on the host (Backend::make_token_sampler gave nullptr).
    bool available() const { return sampler_ != nullptr; }

    // Before the step: brings the device state to `request`.
    void prepare(const SampleRequest& request);
    // Inside the step's body: logits [1, V] -> [1, 1] I32 (TokenSampler::sample). Changes nothing
    // on the host (a first step's body runs twice: eagerly, then recorded).
    Tensor choose(const Tensor& logits, int64_t cols) { return sampler_->sample(logits, cols); }
    // After the step: it drew `id` (-1: none), which the device added to its history.
    void drew(int32_t id);
    // After a step that failed: what the device holds is unknown, the next prepare sends it all.
    void invalidate();

private:
    std::unique_ptr<TokenSampler> sampler_;
    std::optional<SamplingParams> params_;  // what the device holds (nullopt: unknown)
    uint64_t next_draw_ = 0;
    std::vector<int32_t> history_;  // the device's history, in order
    bool history_known_ = false;
};

}  // namespace moe
