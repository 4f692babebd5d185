#include "model/weight_source.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "core/error.h"
#include "io/checkpoint.h"

namespace moe {

// ---- checkpoint ----------------------------------------------------------------------------------

CheckpointSource::CheckpointSource(const Checkpoint& checkpoint, Backend& backend)
    : checkpoint_(checkpoint), backend_(backend) {}

const ModelConfig& CheckpointSource::config() const { return checkpoint_.config(); }

bool CheckpointSource::has(const std::string& name) const { return checkpoint_.has(name); }

Weight CheckpointSource::matrix(const std::string& name, int64_t rows, int64_t cols) {
    return backend_.load_weight(checkpoint_.matrix(name, rows, cols));
}

Tensor CheckpointSource::vector(const std::string& name, int64_t n) {
    return backend_.upload(checkpoint_.vector_f32(name, {n}), 1, n);
}

ExpertSet CheckpointSource::experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) {
    std::vector<WeightMatrix> matrices;
    matrices.reserve(size_t(3 * n_experts));
    for (int64_t e = 0; e < n_experts; ++e) {
        const std::string p = prefix + std::to_string(e);
        matrices.push_back(checkpoint_.matrix(p + ".gate_proj.weight", inter, hidden));
        matrices.push_back(checkpoint_.matrix(p + ".up_proj.weight", inter, hidden));
        matrices.push_back(checkpoint_.matrix(p + ".down_proj.weight", hidden, inter));
    }
    return backend_.load_expert_set(matrices);
}

std::vector<float> CheckpointSource::routing_bias(const std::string& name, int64_t n) {
    if (checkpoint_.has(name)) return checkpoint_.vector_f32(name, {n});
    // HF keeps a zero buffer when the checkpoint lacks it; do the same, but say so.
    spdlog::warn("{} is missing: routing without a correction bias (zeros), as HF does", name);
    return std::vector<float>(size_t(n), 0.0f);
}

int64_t CheckpointSource::mtp_layers() const { return checkpoint_.num_mtp_layers(); }

// ---- random --------------------------------------------------------------------------------------

uint64_t tensor_seed(uint64_t seed, const std::string& name) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    return seed ^ (h * 0x9E3779B97F4A7C15ull);
}

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

RandomInit random_init_scale(const std::string& name, int64_t cols) {
    if (ends_with(name, "e_score_correction_bias")) return {0.0f, 0.01f};
    if (ends_with(name, "norm.weight") || ends_with(name, "layernorm.weight")) return {1.0f, 0.1f};
    if (ends_with(name, ".bias")) return {0.0f, 0.1f};
    if (ends_with(name, "embed_tokens.weight")) return {0.0f, std::sqrt(3.0f)};
    return {0.0f, std::sqrt(3.0f / float(std::max<int64_t>(cols, 1)))};
}

RandomSource::RandomSource(ModelConfig config, Backend& backend, uint64_t seed)
    : config_(std::move(config)), backend_(backend), seed_(seed) {}

bool RandomSource::has(const std::string& name) const {
    // A random model stores what its config implies: an untied lm_head, no separate MTP copies.
    if (name == "lm_head.weight") return !config_.tie_word_embeddings;
    if (ends_with(name, "embed_tokens.weight")) return name == "model.embed_tokens.weight";
    if (ends_with(name, "shared_head.head.weight")) return false;
    return true;
}

Weight RandomSource::matrix(const std::string& name, int64_t rows, int64_t cols) {
    return backend_.random_weight(rows, cols, tensor_seed(seed_, name), random_init_scale(name, cols).scale);
}

Tensor RandomSource::vector(const std::string& name, int64_t n) {
    const RandomInit init = random_init_scale(name, n);
    return backend_.random_tensor(1, n, tensor_seed(seed_, name), init.center, init.scale);
}

ExpertSet RandomSource::experts(const std::string& prefix, int64_t n_experts, int64_t inter, int64_t hidden) {
    return backend_.random_expert_set(n_experts, hidden, inter, tensor_seed(seed_, prefix),
                                      std::sqrt(3.0f / float(hidden)));
}

std::vector<float> RandomSource::routing_bias(const std::string& name, int64_t n) {
    const RandomInit init = random_init_scale(name, n);
    return backend_.download(backend_.random_tensor(1, n, tensor_seed(seed_, name), init.center, init.scale));
}

}  // namespace moe
