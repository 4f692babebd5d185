// Pieces both training graphs share (internal to engine/train/): the batch on the backend, the
// lm_head + cross-entropy in row chunks (forward, loss and backward at once, so [T, vocab] logits
// never exist whole), residual sums.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "train/train_graph.h"
#include "train/train_layers.h"

namespace moe::train {

// The rows of `b` on the backend (positions, absolute segment starts).
BatchRows upload_rows(Backend& be, const MicroBatch& b);

struct HeadLoss {
    double sum = 0.0;
    int64_t tokens = 0;
};

// logits = x · headᵀ per chunk of rows; CE against targets (−1: none), gradient scaled by `scale`;
// returns dx [T, d] (the head's input gradient) and accumulates the head's gradient.
Tensor head_ce(const LayerContext& c, const Tensor& x, const Weight& head, std::span<const int32_t> targets,
               float scale, int64_t chunk_rows, HeadLoss& loss);
// Forward only: −log p of each row's target (0 where none).
std::vector<float> head_nll(const LayerContext& c, const Tensor& x, const Weight& head,
                            std::span<const int32_t> targets, int64_t chunk_rows);


}  // namespace moe::train
