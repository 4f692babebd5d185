// Tiny DeepSeek models with MTP modules for the speculative-decoding tests, built in memory on the
// CPU backend (no files): a V3-style config (sigmoid router, noaux_tc, q-LoRA, YaRN) and a
// V2-style one (softmax, greedy top-k, no q-LoRA), each with 1 or 2 MTP modules.
//
// Random weights give drafts the target almost never accepts, which would leave the acceptance
// paths untested. PredictableSource makes acceptance partial on purpose: every projection that
// writes into the residual stream (o_proj, down_proj, the experts) is scaled by residual_scale, so
// each hidden state stays close to its token's embedding and the model is nearly a bigram model;
// eh_proj starts as [I | 0] plus eh_noise x random, so MTP module j, fed the token at i+j+1, predicts
// roughly what the main model predicts after that token. The rest is RandomSource's.
#pragma once

#include <cstdint>
#include <memory>

#include "cpu/cpu_backend.h"
#include "io/model_config.h"
#include "model/model.h"
#include "model/weight_source.h"

namespace moe::test {

struct TinyMtpSpec {
    bool v2 = false;            // V2 family (softmax router, greedy top-k, no q-LoRA)
    int64_t mtp_modules = 1;
    int64_t vocab = 48;
    float residual_scale = 0.15f;  // 1: plain random weights
    float eh_noise = 0.3f;
    uint64_t seed = 3;
    int64_t max_context = 128;
};

ModelConfig tiny_mtp_config(const TinyMtpSpec& spec);

class PredictableSource final : public WeightSource {
public:
    PredictableSource(const TinyMtpSpec& spec, Backend& backend);
    const ModelConfig& config() const override { return inner_.config(); }
    Backend& backend() override { return inner_.backend(); }
    bool has(const std::string& name) const override { return inner_.has(name); }
    Weight matrix(const std::string& name, int64_t rows, int64_t cols) override;
    Tensor vector(const std::string& name, int64_t n) override { return inner_.vector(name, n); }
    ExpertSet experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) override;
    std::vector<float> routing_bias(const std::string& name, int64_t n) override { return inner_.routing_bias(name, n); }
    Weight alias(const std::string& name, const std::string& first, const Weight& w) override {
        return inner_.alias(name, first, w);
    }
    int64_t mtp_layers() const override { return inner_.mtp_layers(); }

private:
    TinyMtpSpec spec_;
    RandomSource inner_;
};

// The model on any backend (tests/cuda builds it on the GPU), which must outlive it.
std::unique_ptr<Model> load_tiny_mtp_model(const TinyMtpSpec& spec, Backend& backend);

// A model and the CPU backend it lives on.
struct TinyMtpModel {
    CpuBackend backend;
    std::unique_ptr<Model> model;
};
std::unique_ptr<TinyMtpModel> make_tiny_mtp_model(const TinyMtpSpec& spec);

}  // namespace moe::test
