// The model-level training graph: one micro-batch forward with saved activations → losses →
// backward, accumulating every trainable parameter's gradient. DeepSeek (MLA, dense/MoE layers,
// MTP modules) and Qwen2 (GQA) run over the same weights structs as inference
// (model/deepseek_weights.h, model/qwen2_weights.h), loaded from a TrainableSource.
//
// Losses (docs/training.md has the definitions): main next-token CE, MTP CE per depth, the
// sequence-wise balance loss of every MoE layer. The caller fixes each loss's per-token weight for
// the whole optimiser step (LossScales) so that micro-batches add up to the step's means.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "io/model_config.h"
#include "train/parameters.h"

namespace moe {
class Checkpoint;
}

namespace moe::train {

struct TrainableSpec;

// One micro-batch on the host: n_seq sequences of seq_len rows, all [n_seq * seq_len].
struct MicroBatch {
    int64_t n_seq = 0, seq_len = 0;
    std::vector<int32_t> tokens;
    std::vector<int32_t> targets;    // the token row r predicts (−1: no loss)
    std::vector<int32_t> positions;  // RoPE position (restarts per packed sample)
    std::vector<int32_t> seg_start;  // row within the sequence where row r's sample starts
    int64_t rows() const { return n_seq * seq_len; }
};

// Whole sequences (no packing, no padding): targets are the next tokens, positions 0.., one segment.
MicroBatch batch_of_sequences(const std::vector<std::vector<int32_t>>& sequences);
// Rows with a main-CE target, and with an MTP target at depth k (0-based).
int64_t ce_tokens(const MicroBatch& b);
int64_t mtp_tokens(const MicroBatch& b, int64_t k);

// Per-token weights of each loss for this optimiser step.
struct LossScales {
    float ce = 0.0f;              // 1 / (CE tokens in the step)
    std::vector<float> mtp;       // λ / (D · MTP-k tokens in the step), per depth
    float balance = 0.0f;         // α / (sequences in the step); 0 disables the balance loss
};

// What one micro-batch contributed.
struct MicroBatchLosses {
    double ce = 0.0;                                // Σ −log p over CE tokens (unscaled)
    int64_t ce_tokens = 0;
    std::vector<double> mtp;                        // per depth, Σ −log p (unscaled)
    std::vector<int64_t> mtp_tokens;
    std::map<int64_t, double> balance;              // layer -> α-scaled balance loss share
    std::map<int64_t, std::vector<int64_t>> loads;  // MoE layer -> (token, expert) hits per expert
    // MoE layer -> a hash of every token's selected experts (tests tell a selection change from a
    // smooth change with it; loads alone miss two tokens swapping experts)
    std::map<int64_t, uint64_t> selection;
};

// The routing correction bias of one MoE layer (the bias updater changes both copies).
struct RoutingBiasRef {
    int64_t layer = 0;
    Tensor* bias = nullptr;             // [1, E] on the backend (selection)
    std::vector<float>* host = nullptr;  // the same values on the host
};

struct GraphOptions {
    bool checkpoint_layers = false;  // recompute each layer's activations in backward (less memory)
    // Recompute the routed experts' forward in their backward instead of keeping their gate/up and
    // output rows (bf16, 2·K·(2·moe_inter + hidden) bytes a token and MoE layer): less memory, slower.
    bool recompute_experts = false;
    int64_t head_chunk_rows = 0;     // rows per lm_head + CE chunk (0: automatic, ~256 MB of logits)
};

class TrainGraph {
public:
    virtual ~TrainGraph() = default;
    virtual const ModelConfig& config() const = 0;
    virtual int64_t mtp_depth() const = 0;
    // Forward + backward of one micro-batch; gradients accumulate into the parameters.
    virtual MicroBatchLosses forward_backward(const MicroBatch& batch, const LossScales& scales) = 0;
    // Forward only: Σ CE and the CE token count per row's domain is the caller's business; returns the
    // per-row −log p of each row's target (0 where there is none) and the MoE loads.
    virtual std::vector<float> evaluate(const MicroBatch& batch, std::map<int64_t, std::vector<int64_t>>* loads) = 0;
    virtual std::vector<RoutingBiasRef> routing_biases() = 0;
};

// Builds the graph of `spec`'s model with its weights registered in `params`.
std::unique_ptr<TrainGraph> make_train_graph(TrainableSpec spec, ParameterStore& params, const GraphOptions& options);

}  // namespace moe::train
