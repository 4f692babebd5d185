// The weight source of a training run (model/weight_source.h): every tensor the graph asks for is
// read from the checkpoint (or drawn at random for a model trained from scratch) and, when the run
// trains it, registered as an F32 master in the ParameterStore; frozen tensors stay plain weights
// (bf16 on a GPU, mmapped on the CPU: no master, no gradient). LoRA adapters are attached to the
// projections the LoRA spec names.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/weight_source.h"
#include "train/parameters.h"

namespace moe {
class Checkpoint;
}

namespace moe::train {

struct LoraSpec {
    int64_t rank = 0;  // 0: no LoRA
    float alpha = 16.0f;
    float dropout = 0.0f;
    // Which projections get adapters, by module kind: "attention" (every attention projection),
    // "shared_experts", "experts" (routed, per expert), "mlp" (dense MLPs), or a projection's own
    // name ("q_b_proj", "o_proj", "kv_b_proj", ...).
    std::vector<std::string> targets{"attention", "shared_experts", "experts"};
    uint64_t seed = 0;
    float scale() const { return alpha / float(rank); }
    bool applies_to(const std::string& tensor_name) const;
};

struct TrainableSpec {
    const Checkpoint* checkpoint = nullptr;  // null: a model of `config` from scratch
    ModelConfig config;                       // used when there is no checkpoint
    uint64_t init_seed = 0;                   // from scratch: the random initialisation
    // Which checkpoint tensors train (full fine-tune: all; LoRA: none; MTP heads: the MTP layers).
    std::function<bool(const std::string& name)> trainable = [](const std::string&) { return true; };
    LoraSpec lora;
    // A checkpoint that stores no MTP module gets one (issue #13: MTP heads for any model), as
    // model.layers.{num_hidden_layers}.*: its decoder block a copy of the last layer, eh_proj = [0 | I]
    // (the module starts as one more layer over the main hidden state), enorm/hnorm ones,
    // shared_head.norm / .head copies of model.norm / lm_head.
    bool add_mtp = false;
};

class TrainableSource final : public WeightSource {
public:
    TrainableSource(TrainableSpec spec, ParameterStore& params);
    const ModelConfig& config() const override { return config_; }
    Backend& backend() override { return params_.backend(); }
    bool has(const std::string& name) const override;
    Weight matrix(const std::string& name, int64_t rows, int64_t cols) override;
    Tensor vector(const std::string& name, int64_t n) override;
    ExpertSet experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) override;
    std::vector<float> routing_bias(const std::string& name, int64_t n) override;
    Weight alias(const std::string& name, const std::string& first, const Weight& w) override;
    int64_t mtp_layers() const override;

private:
    std::vector<float> values(const std::string& name, int64_t rows, int64_t cols) const;
    // A tensor of the added MTP module (add_mtp): its initial values from the checkpoint.
    std::vector<float> added_mtp_values(const std::string& name, int64_t rows, int64_t cols) const;
    bool is_added_mtp(const std::string& name) const;
    Weight frozen_matrix(const std::string& name, int64_t rows, int64_t cols);
    void attach_lora(const std::string& name, const Weight& base, int64_t rows, int64_t cols);
    void attach_expert_lora(const std::string& prefix, const ExpertSet& set, int64_t E, int64_t inter, int64_t hidden);

    TrainableSpec spec_;
    ModelConfig config_;
    ParameterStore& params_;
    uint64_t lora_seed_;
};

// Host values of a from-scratch tensor (model/weight_source.h random_init_scale, counter RNG).
std::vector<float> random_init_values(const std::string& name, int64_t rows, int64_t cols, uint64_t seed);

}  // namespace moe::train
