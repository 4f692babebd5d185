// The trainable state of a model: F32 master tensors, their gradients and AdamW moments, under
// the checkpoint's own tensor names, and the lookups the training graph uses to find a weight's
// gradient (or LoRA adapter) from the weight handle it already holds.
//
// A Parameter is one tensor the optimiser updates. Routed experts are stacked per layer (gate/up
// [E*inter, hidden], down [E*hidden, inter]); their hub names (one tensor per expert) are row
// slices. A tensor stored under two names (the MTP layer's copy of embed_tokens) is one Parameter
// with an alias: one gradient, written in full under both names.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/backend.h"

namespace moe::train {

struct Parameter {
    struct Slice {
        std::string name;  // the hub tensor, rows [row0, row0 + rows) of the parameter
        int64_t row0 = 0, rows = 0;
    };
    std::string name;                  // checkpoint name (stacked experts: "model.layers.L.mlp.experts.{gate,up,down}")
    std::vector<std::string> aliases;  // more checkpoint names of this same tensor
    std::vector<Slice> slices;         // stacked experts: the per-expert hub tensors
    Tensor value;                      // F32 master [rows, cols]
    Tensor grad;                       // F32, accumulated over a step's micro-batches
    Tensor exp_avg, exp_avg_sq;        // AdamW moments (made on the first optimiser step)
    bool decay = true;                 // AdamW weight decay applies
    Weight weight;                     // the graph's handle on it (empty for vectors: the graph reads `value`)
    bool is_lora = false;              // a LoRA adapter (A or B), not a checkpoint tensor
    int64_t rows() const { return value.rows(); }
    int64_t cols() const { return value.cols(); }
    int64_t numel() const { return value.numel(); }
};

// A LoRA adapter on one projection, and where its gradients go. a_weight / b_weight are the
// graph's handles on A [r, in] and B [out, r] (refreshed with the other weights).
struct LoraSlot {
    LoraWeights weights;
    Weight a_weight, b_weight;
    LoraGrads grads;
};
struct ExpertLoraSlot {
    ExpertLora weights;
    ExpertLoraGrads grads;
};

class ParameterStore {
public:
    explicit ParameterStore(Backend& backend) : backend_(backend) {}
    ParameterStore(const ParameterStore&) = delete;
    ParameterStore& operator=(const ParameterStore&) = delete;

    Backend& backend() const { return backend_; }

    // Registers a trainable matrix: the weight handle is made from the master (Backend::weight_from_tensor).
    Parameter& add_matrix(const std::string& name, Tensor master);
    // A trainable vector [1, n] (norm weight, bias): the graph reads the master itself.
    Parameter& add_vector(const std::string& name, Tensor master);
    // The routed experts of one layer from stacked masters (prefix "model.layers.L.mlp.experts."):
    // parameters prefix + "{gate,up,down}", slices named prefix + "{e}.{gate,up,down}_proj.weight";
    // their LoRA adapters prefix + "{gate,up,down}.lora_{A,B}".
    // (Frozen experts are no parameters: the source loads them as a plain ExpertSet.)
    ExpertSet add_experts(const std::string& prefix, Tensor gate, Tensor up, Tensor down, int64_t n_experts);
    // A LoRA adapter pair on `base` (a Weight handle of the graph) / on an expert set.
    void add_lora(const std::string& base_name, const Weight& base, Tensor a, Tensor b, float scale, float dropout,
                  uint64_t seed);
    void add_expert_lora(const std::string& prefix, const ExpertSet& base, const ExpertLora& adapters);
    // `alias` is another checkpoint name of the parameter called `name`.
    void add_alias(const std::string& name, const std::string& alias);

    // ---- what the training graph asks (null: frozen / none) --------------------------------------
    Tensor* grad_of(const Weight& w) const;
    Tensor* grad_of(const Tensor& vector_master) const;
    ExpertGrads* grad_of(const ExpertSet& set) const;
    const LoraSlot* lora_of(const Weight& w) const;
    const ExpertLoraSlot* lora_of(const ExpertSet& set) const;

    // ---- what the optimiser and the writers use ----------------------------------------------------
    std::vector<Parameter*> parameters();
    std::vector<const Parameter*> parameters() const;
    Parameter* find(const std::string& name);
    void zero_grads();
    // LoRA dropout masks must differ from one micro-batch to the next yet be reproducible (exact
    // resume, recomputation): every adapter's mask seed becomes a mix of its own base seed and `key`.
    void set_dropout_key(uint64_t key);
    // Σ over parameters of Σ g² (each parameter once), for the global norm.
    double grad_sum_squares() const;
    // After the optimiser changed the masters: refresh the graph's weight copies (GPU backends).
    void refresh_weights();
    int64_t trainable_elements() const;

private:
    Parameter& add(const std::string& name, Tensor master);
    Backend& backend_;
    std::vector<std::unique_ptr<Parameter>> params_;
    std::map<std::string, Parameter*> by_name_;
    std::map<const void*, Parameter*> by_storage_;  // weight or vector storage -> parameter
    struct ExpertStack {
        ExpertSet set;
        Parameter *gate = nullptr, *up = nullptr, *down = nullptr;
        std::unique_ptr<ExpertGrads> grads;
    };
    std::map<const void*, ExpertStack> experts_;  // expert set storage -> stack
    std::map<const void*, std::unique_ptr<LoraSlot>> lora_;
    std::map<const void*, uint64_t> lora_base_seed_;  // adapter -> its seed at creation
    std::map<const void*, std::unique_ptr<ExpertLoraSlot>> expert_lora_;
};

}  // namespace moe::train
