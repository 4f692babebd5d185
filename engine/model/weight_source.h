// Where a graph's weights come from. The graphs' loaders (deepseek_weights.cpp, qwen2_weights.cpp)
// ask for tensors by their checkpoint names and shapes and never know the answer's origin:
//   CheckpointSource  a checkpoint's tensors (inference; mmapped on the CPU, bf16 on a GPU)
//   RandomSource      deterministic random values of a config's shapes (benchmarks, from-scratch init)
//   train/TrainableSource  F32 master tensors registered as trainable parameters (training)
// so inference, training and the benchmark run one graph over the same weight structs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "model/backend.h"

namespace moe {

class Checkpoint;

class WeightSource {
public:
    virtual ~WeightSource() = default;
    virtual const ModelConfig& config() const = 0;
    virtual Backend& backend() = 0;
    // Whether a tensor of this name exists (optional tensors: lm_head when tied, MTP copies).
    virtual bool has(const std::string& name) const = 0;
    // A 2-D weight [rows, cols] (nn.Linear layout, or an embedding table).
    virtual Weight matrix(const std::string& name, int64_t rows, int64_t cols) = 0;
    // A 1-D tensor as a [1, n] F32 backend tensor (norm weights, biases).
    virtual Tensor vector(const std::string& name, int64_t n) = 0;
    // The routed experts of one MoE layer: `prefix` + "{e}.{gate,up,down}_proj.weight", e < n_experts.
    virtual ExpertSet experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) = 0;
    // The routing correction bias (a buffer, never trained): host values.
    virtual std::vector<float> routing_bias(const std::string& name, int64_t n) = 0;
    // `name` is another stored name of the weight already loaded as `first` (the MTP layer's copy
    // of embed_tokens): the graph shares the one tensor; a trainable source records the alias.
    virtual Weight alias(const std::string& name, const std::string& first, const Weight& w) = 0;
    // MTP layers the source holds (0..num_nextn_predict_layers).
    virtual int64_t mtp_layers() const = 0;
};

// A checkpoint's tensors. The checkpoint must outlive the weights (CPU: they stay mmapped).
class CheckpointSource final : public WeightSource {
public:
    CheckpointSource(const Checkpoint& checkpoint, Backend& backend);
    const ModelConfig& config() const override;
    Backend& backend() override { return backend_; }
    bool has(const std::string& name) const override;
    Weight matrix(const std::string& name, int64_t rows, int64_t cols) override;
    Tensor vector(const std::string& name, int64_t n) override;
    ExpertSet experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) override;
    std::vector<float> routing_bias(const std::string& name, int64_t n) override;
    Weight alias(const std::string&, const std::string&, const Weight& w) override { return w; }
    int64_t mtp_layers() const override;

private:
    const Checkpoint& checkpoint_;
    Backend& backend_;
};

// Deterministic pseudo-random weights of `config`'s shapes (Backend::random_*; each tensor's seed
// derives from the source seed and its name): matrices uniform in ±sqrt(3/fan_in) (unit-variance
// outputs for unit-variance inputs), embeddings ±sqrt(3), norm weights in 1 ± 0.1, biases ±0.1,
// routing biases ±0.01 (random_init_scale says which).
class RandomSource final : public WeightSource {
public:
    RandomSource(ModelConfig config, Backend& backend, uint64_t seed);
    const ModelConfig& config() const override { return config_; }
    Backend& backend() override { return backend_; }
    bool has(const std::string& name) const override;
    Weight matrix(const std::string& name, int64_t rows, int64_t cols) override;
    Tensor vector(const std::string& name, int64_t n) override;
    ExpertSet experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) override;
    std::vector<float> routing_bias(const std::string& name, int64_t n) override;
    Weight alias(const std::string&, const std::string&, const Weight& w) override { return w; }
    int64_t mtp_layers() const override { return config_.num_nextn_predict_layers; }

private:
    ModelConfig config_;
    Backend& backend_;
    uint64_t seed_;
};

// How a tensor of this name starts in a random model: values uniform in [center - scale, center + scale).
struct RandomInit {
    float center = 0.0f;
    float scale = 0.0f;
};
RandomInit random_init_scale(const std::string& name, int64_t cols);
// A tensor's own seed: the source seed mixed with a hash of its name.
uint64_t tensor_seed(uint64_t seed, const std::string& name);

}  // namespace moe
