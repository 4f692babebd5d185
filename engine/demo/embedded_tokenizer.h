// The demo model's tokenizer files, compiled into the engine (engine/demo/embedded_tokenizer_files.cpp,
// generated from resources/demo/ by engine/demo/embed_files.cmake; provenance in resources/demo/README.md):
// the 500-entry byte-level BPE and DeepSeek-V3 chat template of tests/data/models/deepseek-v3-tiny.
#pragma once

#include <string_view>

namespace moe::demo {

extern const std::string_view k_tokenizer_json;
extern const std::string_view k_tokenizer_config_json;

}  // namespace moe::demo
