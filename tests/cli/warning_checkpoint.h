// A checkpoint the engine loads with a warning: tests/data/models/deepseek-v3-tiny (and its
// tokenizer) with its stored MTP layer (layer 3) left out while config.json still declares
// num_nextn_predict_layers 1, as converted checkpoints often do. Loading it logs "config has
// num_nextn_predict_layers=1 but the checkpoint stores no MTP layer". (A missing
// e_score_correction_bias would warn too, but the checkpoint check refuses it before the model
// loads: io/tensor_layout.cpp lists it as required.)
#pragma once

#include <string>

namespace moe::test {

// What stderr shows of the warning.
inline constexpr const char* kMissingMtpWarning =
    "warning: config has num_nextn_predict_layers=1 but the checkpoint stores no MTP layer";

// Writes the checkpoint into `dir` (which must exist).
void write_warning_checkpoint(const std::string& dir);

}  // namespace moe::test
