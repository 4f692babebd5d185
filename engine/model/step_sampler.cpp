#include "model/step_sampler.h"

#include <algorithm>

namespace moe {

StepSampler::StepSampler(Backend& backend, int64_t vocab) : sampler_(backend.make_token_sampler(vocab)) {}

void StepSampler::prepare(const SampleRequest& request) {
    if (!params_ || *params_ != request.params || next_draw_ != request.draw) {
        sampler_->configure(request.params, request.draw);
        params_ = request.params;
        next_draw_ = request.draw;
    }
    if (request.params.repetition_penalty == 1.0f) return;  // the device does not read the history
    const auto& h = request.history;
    const bool extends = history_known_ && h.size() >= history_.size() &&
                         std::equal(history_.begin(), history_.end(), h.begin());
    if (!extends) {
        sampler_->clear_history();
        history_.clear();
        history_known_ = true;
    }
    if (h.size() > history_.size()) {
        sampler_->add_history(h.subspan(history_.size()));
        history_.insert(history_.end(), h.begin() + std::ptrdiff_t(history_.size()), h.end());
    }
}

void StepSampler::drew(int32_t id) {
    ++next_draw_;
    if (history_known_ && id >= 0) history_.push_back(id);
}

void StepSampler::invalidate() {
    params_.reset();
    history_known_ = false;
    history_.clear();
}

}  // namespace moe
