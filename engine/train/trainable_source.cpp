#include "train/trainable_source.h"

#include <cmath>
#include <tuple>

#include "core/error.h"
#include "counter_rng.h"
#include "io/checkpoint.h"

namespace moe::train {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

bool LoraSpec::applies_to(const std::string& name) const {
    if (rank <= 0 || !ends_with(name, ".weight")) return false;
    const bool routed = contains(name, ".mlp.experts.");
    const bool shared = contains(name, ".mlp.shared_experts.");
    const bool attention = contains(name, ".self_attn.") && !ends_with(name, "layernorm.weight");
    const bool dense_mlp = contains(name, ".mlp.") && !routed && !shared && !contains(name, ".mlp.gate.");
    for (const std::string& t : targets) {
        if ((t == "attention" && attention) || (t == "experts" && routed) || (t == "shared_experts" && shared) ||
            (t == "mlp" && dense_mlp))
            return true;
        if (!routed && contains(name, "." + t + ".weight")) return true;
    }
    return false;
}

namespace {
// How a from-scratch tensor starts, trainable or frozen alike.
RandomInit train_init(const std::string& name, int64_t cols) {
    RandomInit init = random_init_scale(name, cols);
    // The inference bench's unit-variance embedding would make the tied head's logits ~sqrt(hidden)
    // wide (initial CE ~100 nats at 4k vocabulary); start them at std 0.02 (uniform half-width
    // 0.02*sqrt(3)) as GPT-2 and DeepSeek do, so the first loss is ~ln(vocab).
    if (ends_with(name, "embed_tokens.weight")) init.scale = 0.02f * std::sqrt(3.0f);
    return init;
}
}  // namespace

std::vector<float> random_init_values(const std::string& name, int64_t rows, int64_t cols, uint64_t seed) {
    const RandomInit init = train_init(name, cols);
    const uint64_t s = tensor_seed(seed, name);
    std::vector<float> v(size_t(rows * cols));
    for (size_t i = 0; i < v.size(); ++i) v[i] = init.center + init.scale * (2.0f * rng::uniform(s, i) - 1.0f);
    return v;
}

TrainableSource::TrainableSource(TrainableSpec spec, ParameterStore& params)
    : spec_(std::move(spec)),
      config_(spec_.checkpoint ? spec_.checkpoint->config() : spec_.config),
      params_(params),
      lora_seed_(spec_.lora.seed) {
    if (spec_.add_mtp) {
        if (!spec_.checkpoint || spec_.checkpoint->num_mtp_layers() > 0)
            throw Error("train.bad_config", spec_.checkpoint ? spec_.checkpoint->dir() : "",
                        "add_mtp is for a checkpoint that stores no MTP module");
        if (!config_.is_deepseek())
            throw Error("train.unsupported", spec_.checkpoint->dir(),
                        "MTP modules are DeepSeek-architecture layers; " + config_.model_type + " has no MTP graph");
        config_.num_nextn_predict_layers = 1;
    }
}

bool TrainableSource::is_added_mtp(const std::string& name) const {
    return spec_.add_mtp && name.rfind("model.layers." + std::to_string(config_.num_hidden_layers) + ".", 0) == 0;
}

std::vector<float> TrainableSource::added_mtp_values(const std::string& name, int64_t rows, int64_t cols) const {
    const std::string prefix = "model.layers." + std::to_string(config_.num_hidden_layers) + ".";
    const std::string tail = name.substr(prefix.size());
    const Checkpoint& ck = *spec_.checkpoint;
    auto read = [&](const std::string& n) {
        return rows == 1 ? ck.vector_f32(n, {cols}) : ck.matrix(n, rows, cols).to_f32();
    };
    if (tail == "enorm.weight" || tail == "hnorm.weight") return std::vector<float>(size_t(cols), 1.0f);
    if (tail == "eh_proj.weight") {  // [d, 2d]: zero on the embedding half, identity on the hidden half
        std::vector<float> v(size_t(rows * cols), 0.0f);
        for (int64_t i = 0; i < rows; ++i) v[size_t(i * cols + rows + i)] = 1.0f;
        return v;
    }
    if (tail == "shared_head.norm.weight") return read("model.norm.weight");
    if (tail == "shared_head.head.weight")
        return read(ck.has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight");
    return read("model.layers." + std::to_string(config_.num_hidden_layers - 1) + "." + tail);  // the last layer's
}

bool TrainableSource::has(const std::string& name) const {
    if (is_added_mtp(name)) return !ends_with(name, "embed_tokens.weight");  // its own head, the shared embedding
    if (spec_.checkpoint) return spec_.checkpoint->has(name);
    if (name == "lm_head.weight") return !config_.tie_word_embeddings;
    if (ends_with(name, "embed_tokens.weight")) return name == "model.embed_tokens.weight";
    // From scratch the MTP modules share the main lm_head (export writes shared_head.head as a copy).
    return !ends_with(name, "shared_head.head.weight");
}

std::vector<float> TrainableSource::values(const std::string& name, int64_t rows, int64_t cols) const {
    if (is_added_mtp(name)) return added_mtp_values(name, rows, cols);
    if (spec_.checkpoint) {
        if (rows == 1) return spec_.checkpoint->vector_f32(name, {cols});
        return spec_.checkpoint->matrix(name, rows, cols).to_f32();
    }
    return random_init_values(name, rows, cols, spec_.init_seed);
}

Weight TrainableSource::frozen_matrix(const std::string& name, int64_t rows, int64_t cols) {
    Backend& be = params_.backend();
    if (is_added_mtp(name)) return be.weight_from_f32(added_mtp_values(name, rows, cols), rows, cols);
    if (spec_.checkpoint) return be.load_weight(spec_.checkpoint->matrix(name, rows, cols));
    // Generated where the weight lives (a 16B frozen base is not made on the host), from the same
    // seed and scale as the trainable values() path, so CPU and CUDA start from the same numbers.
    return be.random_weight(rows, cols, tensor_seed(spec_.init_seed, name), train_init(name, cols).scale);
}

Weight TrainableSource::matrix(const std::string& name, int64_t rows, int64_t cols) {
    Weight w;
    if (spec_.trainable(name))
        w = params_.add_matrix(name, params_.backend().upload(values(name, rows, cols), rows, cols)).weight;
    else
        w = frozen_matrix(name, rows, cols);
    if (spec_.lora.applies_to(name)) attach_lora(name, w, rows, cols);
    return w;
}

// PEFT's initialisation: A uniform in ±1/sqrt(in) (kaiming-uniform with a = sqrt(5)), B zero, so
// the adapted model starts equal to the base.
void TrainableSource::attach_lora(const std::string& name, const Weight& base, int64_t rows, int64_t cols) {
    Backend& be = params_.backend();
    const int64_t r = spec_.lora.rank;
    const std::string module = name.substr(0, name.size() - std::string(".weight").size());
    Tensor a = be.random_tensor(r, cols, tensor_seed(spec_.lora.seed, module), 0.0f, 1.0f / std::sqrt(float(cols)));
    Tensor b = be.alloc(rows, r);
    params_.add_lora(module, base, std::move(a), std::move(b), spec_.lora.scale(), spec_.lora.dropout, ++lora_seed_);
}

Tensor TrainableSource::vector(const std::string& name, int64_t n) {
    Tensor t = params_.backend().upload(values(name, 1, n), 1, n);
    if (!spec_.trainable(name)) return t;
    return params_.add_vector(name, std::move(t)).value;
}

ExpertSet TrainableSource::experts(const std::string& prefix, int64_t E, int64_t inter, int64_t hidden) {
    Backend& be = params_.backend();
    ExpertSet set;
    if (spec_.trainable(prefix + "0.gate_proj.weight")) {
        std::vector<float> gate, up, down;
        for (int64_t e = 0; e < E; ++e) {
            const std::string p = prefix + std::to_string(e);
            for (auto [dst, proj, rows, cols] : {std::tuple{&gate, ".gate_proj.weight", inter, hidden},
                                                 std::tuple{&up, ".up_proj.weight", inter, hidden},
                                                 std::tuple{&down, ".down_proj.weight", hidden, inter}}) {
                const std::vector<float> v = values(p + proj, rows, cols);
                dst->insert(dst->end(), v.begin(), v.end());
            }
        }
        set = params_.add_experts(prefix, be.upload(gate, E * inter, hidden), be.upload(up, E * inter, hidden),
                                  be.upload(down, E * hidden, inter), E);
    } else if (spec_.checkpoint && !is_added_mtp(prefix)) {
        set = CheckpointSource(*spec_.checkpoint, be).experts(prefix, E, inter, hidden);
    } else {
        // Per expert and projection from frozen_matrix (an added MTP module's copies, or random values
        // made as values() makes trainable ones: Backend::random_expert_set lays its numbers out per
        // backend, so CPU and CUDA would train against different frozen experts).
        std::vector<FfnWeights> experts;
        for (int64_t e = 0; e < E; ++e) {
            const std::string p = prefix + std::to_string(e);
            experts.push_back(FfnWeights{frozen_matrix(p + ".gate_proj.weight", inter, hidden),
                                         frozen_matrix(p + ".up_proj.weight", inter, hidden),
                                         frozen_matrix(p + ".down_proj.weight", hidden, inter)});
        }
        set = be.make_expert_set(std::move(experts));
    }
    if (spec_.lora.applies_to(prefix + "0.gate_proj.weight")) attach_expert_lora(prefix, set, E, inter, hidden);
    return set;
}

void TrainableSource::attach_expert_lora(const std::string& prefix, const ExpertSet& set, int64_t E, int64_t inter,
                                         int64_t hidden) {
    Backend& be = params_.backend();
    const int64_t r = spec_.lora.rank;
    ExpertLora l;
    l.rank = r;
    auto make = [&](const char* proj, int64_t out, int64_t in) {
        const std::string module = prefix + proj;
        return LoraWeights{be.random_tensor(E * r, in, tensor_seed(spec_.lora.seed, module), 0.0f, 1.0f / std::sqrt(float(in))),
                           be.alloc(E * out, r), spec_.lora.scale(), spec_.lora.dropout, ++lora_seed_};
    };
    l.gate = make("gate", inter, hidden);
    l.up = make("up", inter, hidden);
    l.down = make("down", hidden, inter);
    params_.add_expert_lora(prefix, set, l);
}

std::vector<float> TrainableSource::routing_bias(const std::string& name, int64_t n) {
    if (is_added_mtp(name)) return added_mtp_values(name, 1, n);
    if (spec_.checkpoint) return CheckpointSource(*spec_.checkpoint, params_.backend()).routing_bias(name, n);
    return std::vector<float>(size_t(n), 0.0f);  // DeepSeek starts the correction bias at zero
}

Weight TrainableSource::alias(const std::string& name, const std::string& first, const Weight& w) {
    if (params_.find(first)) params_.add_alias(first, name);
    return w;
}

int64_t TrainableSource::mtp_layers() const {
    if (spec_.add_mtp) return 1;
    return spec_.checkpoint ? spec_.checkpoint->num_mtp_layers() : config_.num_nextn_predict_layers;
}

}  // namespace moe::train
