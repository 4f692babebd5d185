// The training runs `moe-engine bench-train` knows by name (docs/performance.md, "Training step"):
//   lora-moonlight  LoRA (rank 16, alpha 32; attention, shared and routed experts) on the
//                   moonlight-16b-a3b shape, the base frozen: random bf16 weights drawn on the GPU
//   full-100m       a full fine-tune from scratch of a ~100M-parameter DeepSeek-V3-shaped model
//                   (hidden 512, 12 layers with the first dense, MLA, 16 routed experts top-4 of
//                   width 192 + 1 shared, vocab 32000, one MTP module) with AdamW
// bench/hf_train_reference.py builds the same two with PyTorch + transformers.
#pragma once

#include <string>
#include <vector>

#include "io/model_config.h"
#include "train/trainable_source.h"
#include "train/trainer.h"

namespace moe::bench {

struct TrainShape {
    std::string name;         // "lora-moonlight", "full-100m"
    std::string model;        // the model shape's own name
    std::string mode;         // "lora" or "full"
    ModelConfig config;
    train::LoraSpec lora;     // rank 0 for a full fine-tune
    train::Objectives objectives;
    train::AdamWConfig adamw;
};

// lora-moonlight, full-100m.
const std::vector<std::string>& train_shape_names();
// A shape by name; throws "bench.unknown_shape" listing the names.
TrainShape train_shape(const std::string& name);
// The run's TrainableSpec: no checkpoint; LoRA freezes every base tensor, a full fine-tune trains all.
train::TrainableSpec train_spec(const TrainShape& shape, uint64_t seed);

}  // namespace moe::bench
