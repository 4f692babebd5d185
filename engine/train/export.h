// `moe-engine export --run DIR [--step N] --out DIR [--dtype auto|bf16|f32|fp8]`: a run's checkpoint
// as a Hugging Face checkpoint that transformers, vLLM, SGLang and this engine load: the base
// model's tensors with the trained ones replaced, LoRA folded in (W + (alpha/r)·B·A, per expert for
// routed experts), the updated routing biases, the MTP modules (a model trained from scratch gets
// its MTP layers' embed_tokens and shared_head.head written as copies of the shared tensors, as
// DeepSeek-V3 ships them), config.json and the tokenizer files. fp8: e4m3 with 128×128
// weight_scale_inv blocks for the linear weights (DeepSeek-V3's format; embeddings, lm_head, norms
// and router gates stay bf16). The folder appears whole or not at all.
#pragma once

#include <cstdint>
#include <string>

#include "core/strict_json.h"

namespace moe::train {

struct ExportOptions {
    std::string run_dir;
    int64_t step = -1;          // -1: the latest checkpoint
    std::string out;
    std::string dtype = "auto"; // auto: the base tensors' own dtype (f32 for a model from scratch)
};

// Returns a summary (tensors, bytes, dtype, checkpoint used). Throws export.* / checkpoint.* errors.
Json export_run(const ExportOptions& options);

}  // namespace moe::train
