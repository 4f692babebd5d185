// What `moe-engine grad` writes (docs/training.md "grad outputs"): losses.json, grads.safetensors
// (F32, checkpoint names, per-expert hub tensors, aliases in full), bias_update.json and, after an
// AdamW step, params_after.safetensors and optimizer_state.safetensors — all into one folder that
// appears whole (core/staging_dir.h).
#pragma once

#include <map>
#include <string>

#include "core/strict_json.h"
#include "io/tensor_file_writer.h"
#include "train/parameters.h"
#include "train/trainer.h"

namespace moe::train {

Json losses_json(const StepResult& r);
Json bias_update_json(const StepResult& r);

enum class ParamField { Grad, Value, ExpAvg, ExpAvgSq };
// Every parameter's field under its checkpoint names (slices for stacked experts; aliases get the
// whole tensor), as F32 tensors ready for write_safetensors. LoRA adapters are named
// "<module>.lora_A.weight" / ".lora_B.weight". `suffix` is appended to every name.
std::map<std::string, TensorToWrite> parameter_tensors(const ParameterStore& params, ParamField field,
                                                        const std::string& suffix = "");

void write_grad_outputs(const std::string& out_dir, const StepResult& r, const ParameterStore& params,
                        bool with_adamw);

}  // namespace moe::train
