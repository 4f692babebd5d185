// What one training step of a model costs, from its config, its TrainableSpec, the batch shape and
// the ParameterStore the graph registered: parameter counts, model FLOPs (for MFU) and device
// memory (printed before the first step by `moe-engine bench-train`, and by `moe-engine train`).
//
// The memory plan follows what the training graph keeps (engine/train/deepseek_train_graph.cpp,
// qwen2_train_graph.cpp, train_layers.h):
//   persistent  frozen weights (bf16 matrices on a GPU, f32 vectors), F32 masters of the trainable
//               tensors, their F32 gradients, the AdamW moments (2 × masters, made at the first
//               optimiser step), the low-precision copy a GPU backend keeps of each trainable matrix
//   activations what the forward keeps for the backward, all layers at once (main + MTP modules):
//               per layer the norms' inputs/outputs, MLA's q/ckv/latent/k/v/out/lse, the FFN's
//               gate/up/h or the MoE's scores/routing/shared-expert g/u/h; with checkpointed
//               layers only each layer's input and output and its routing ids
//   workspace   the largest transient on top: the lm_head + cross-entropy chunk (logits and their
//               gradient), or one layer's backward (its gradients, the routed experts' recomputed
//               products, and, checkpointed, that layer's recomputed activations)
// All activations are F32 (I32 ids count 4 bytes too). It is an estimate: bench-train prints it
// beside the measured peak (target: within 10%).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "io/model_config.h"
#include "train/parameters.h"
#include "train/train_graph.h"
#include "train/trainable_source.h"

namespace moe::train {

// One tensor the graph loads (the MTP layer's stored copy of embed_tokens is an alias: not listed).
struct ModelTensor {
    std::string name;
    int64_t rows = 0, cols = 0;
    bool vector = false;         // [1, n] norm weight or bias: F32 on every backend, no matmul
    bool routed_expert = false;  // one routed expert's projection (a token uses top_k of E)
    bool buffer = false;         // the routing correction bias: device memory, not a parameter
    int64_t layer = -1;          // checkpoint layer index (>= num_hidden_layers: MTP module); -1 outside layers
    int64_t numel() const { return rows * cols; }
};

// Every tensor the DeepSeek or Qwen2 graph of `config` loads, given which optional tensors the
// source has (an untied lm_head, the MTP modules' own shared_head.head) and how many MTP modules
// it stores.
std::vector<ModelTensor> model_tensors(const ModelConfig& config, int64_t mtp_modules,
                                       const std::function<bool(const std::string&)>& has);
// The tensors of the model `spec` describes (its checkpoint's, or a from-scratch model's).
std::vector<ModelTensor> model_tensors(const TrainableSpec& spec);

struct ParameterCounts {
    int64_t total = 0;       // every parameter element (buffers excluded), each stored tensor once
    int64_t trainable = 0;   // checkpoint tensors the run trains
    int64_t lora = 0;        // adapter elements (A and B)
    int64_t embedding = 0;   // embed_tokens
};
ParameterCounts count_parameters(const std::vector<ModelTensor>& tensors, const ParameterStore& params);

// Model FLOPs of one optimiser step over n_seq sequences of seq_len tokens (2 per multiply-add):
//   matmuls: Σ_w f_w · 2 · a_w · rows_w, where a_w is the weight's element count (× top_k / E for
//            a routed expert), rows_w the rows it multiplies (n_seq · T for the main model and its
//            lm_head; n_seq · (T − k − 1) for MTP module k, its head included), and f_w = 3 for a
//            trained weight (forward, input gradient, weight gradient) or 2 for a frozen one
//            (forward, input gradient); LoRA adapters count as trained weights of r · (in + out)
//   attention: per layer and sequence 3 · 2 · H · (d_qk + d_v) · T(T+1)/2 (causal pairs; forward
//            and twice that in backward) = 12 · H · (d_qk + d_v)/2 · T(T+1)/2
// The embedding lookup, norms, softmax and the recomputation of checkpointed layers are not
// counted (model FLOPs, not hardware FLOPs). A full fine-tune's matmul term is 6 · N_active · tokens.
struct StepFlops {
    double matmul_trained = 0;
    double matmul_frozen = 0;
    double lora = 0;
    double attention = 0;
    double total() const { return matmul_trained + matmul_frozen + lora + attention; }
};
StepFlops training_step_flops(const ModelConfig& config, const std::vector<ModelTensor>& tensors,
                              const ParameterStore& params, int64_t n_seq, int64_t seq_len);
// The formula above as one line of text (printed and written into bench-train's JSON).
extern const char* const kStepFlopsFormula;

// How a backend stores what the plan counts.
struct MemoryPlanOptions {
    int64_t frozen_matrix_bytes = 2;  // per element of a frozen matrix (GPU: bf16)
    int64_t weight_copy_bytes = 2;    // per element of a trainable matrix's compute copy (GPU: bf16; CPU: 0)
    bool balance_loss = false;        // the MoE layers keep the balance loss's score gradient [T, E]
    bool expert_rows_kept = true;     // the backend keeps the routed experts' rows (GPU; CPU: false)
};

struct MemoryPlan {
    double frozen_weights = 0;
    double trainable_masters = 0;
    double gradients = 0;
    double adamw_moments = 0;
    double weight_copies = 0;
    double activations = 0;  // all layers' saved activations of one micro-batch
    double workspace = 0;    // the largest transient on top of them
    std::string workspace_kind;  // "lm_head chunk" or "layer backward"
    double persistent() const { return frozen_weights + trainable_masters + gradients + adamw_moments + weight_copies; }
    double peak() const { return persistent() + activations + workspace; }
    Json to_json() const;
    // One line per component, in GiB (for stderr).
    std::string table() const;
};

MemoryPlan plan_training_memory(const TrainableSpec& spec, const ParameterStore& params, int64_t n_seq,
                                int64_t seq_len, const GraphOptions& graph, const MemoryPlanOptions& options = {});

}  // namespace moe::train
