// A fine-tune run's description: one TOML or JSON file (docs/training.md "Run files"), with the
// common settings overridable from the command line. Everything a run does follows from it and
// the data, so a checkpoint stores it and a resumed run continues exactly.
//
//   model = "path/to/checkpoint"          # or  [scratch] config = "config.json" (a model from scratch)
//   method = "lora"                       # full | lora | mtp-head
//   out = "runs/my-run"
//   backend = "auto"                      # cpu | cuda | auto
//   seed = 0
//   [data]      paths = ["chats.jsonl", "src/=code"]   seq_len = 1024  batch = 4  accumulation = 1
//               holdout = 0.05  fim_rate = 0.0  malformed = "skip"
//   [lora]      rank = 16  alpha = 32  dropout = 0.05  targets = ["attention", "shared_experts", "experts"]
//   [schedule]  steps = 200  lr = 2e-4  warmup = 20  decay = "cosine"  min_lr_ratio = 0.1
//   [optimizer] beta1 = 0.9  beta2 = 0.95  eps = 1e-8  weight_decay = 0.0  clip = 1.0
//   [objectives] mtp_lambda = 0.0  balance_alpha = 0.0001  bias_gamma = 0.001
//   [intervals] eval = 50  eval_tokens = 32768  checkpoint = 50  keep_checkpoints = 3
//   trainable = ["model.layers.*"]        # full: glob patterns of trained tensors (default: all)
//   checkpoint_layers = false             # activation recomputation
//   recompute_experts = false             # routed experts' forward again in backward (GPU: less memory)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "train/data/data_config.h"
#include "train/trainable_source.h"
#include "train/trainer.h"

namespace moe::train {

enum class TrainMethod { Full, Lora, MtpHead };
const char* method_name(TrainMethod m);

struct Schedule {
    int64_t steps = 100;
    float lr = 1e-4f;
    int64_t warmup = 0;
    bool cosine = true;          // else constant after warm-up
    float min_lr_ratio = 0.1f;   // cosine floor as a fraction of lr
    // > 0: a time-boxed run: it ends after this many minutes of training (with a checkpoint) or at
    // `steps`, whichever comes first, and the cosine follows the elapsed share of the time. Such a
    // run depends on the machine's speed, so its resume is not bit-exact (a step-bounded run's is).
    double max_minutes = 0.0;
    // The learning rate of 1-based step `step`: linear warm-up, then cosine to min_lr_ratio·lr or constant.
    float lr_at(int64_t step) const;
    // The same with the decay's progress given directly (time-boxed runs), progress in [0, 1].
    float lr_at_progress(int64_t step, double progress) const;
};

struct RunConfig {
    std::string model;          // checkpoint directory ("" with a scratch config)
    std::string scratch_config; // config.json of a model trained from scratch
    std::string tokenizer;      // tokenizer dir (default: the model dir / the scratch config's dir)
    TrainMethod method = TrainMethod::Lora;
    std::string out;
    std::string backend = "auto";
    uint64_t seed = 0;
    DataConfig data;
    int64_t accumulation = 1;
    LoraSpec lora;
    std::vector<std::string> trainable;  // glob patterns (full fine-tune); empty: everything
    Schedule schedule;
    AdamWConfig optimizer;
    Objectives objectives;
    int64_t eval_interval = 50;       // 0: no evaluation
    int64_t eval_tokens = 32768;      // held-out tokens evaluated per domain at most
    int64_t checkpoint_interval = 50; // 0: only the final checkpoint
    int64_t keep_checkpoints = 3;
    bool checkpoint_layers = false;
    bool recompute_experts = false;

    Json to_json() const;
    // Throws train.bad_config naming the field (and `file`).
    static RunConfig from_json(const Json& j, const std::string& file);
    // Reads FILE (.toml or .json). Relative paths inside are resolved against FILE's folder.
    static RunConfig load(const std::string& file);
    // Checks values that from_json cannot (ranges, method vs model). Throws train.bad_config.
    void validate() const;
    // Whether a checkpoint tensor trains under this method and these patterns.
    bool is_trainable(const std::string& tensor_name, int64_t num_hidden_layers) const;
    // What an out-of-memory error adds: the run-file keys that trade speed for memory and are not
    // on yet, then the batch and sequence length.
    std::string memory_advice() const;
};

// Glob with '*' and '?' (tensor-name patterns).
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace moe::train
