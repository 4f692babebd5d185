// Files compiled into the engine (engine/demo/embedded_files.cpp, `.incbin` of resources/ at build
// time), so that `serve --demo` and the window's first launch work from the binary alone, offline.
//   trained demo model  resources/demo-model/{config.json,model.safetensors} and the tokenizer of
//                       resources/demo-trained/ — what `serve --demo` opens (resources/demo-model/README.md)
//   its training run    resources/demo-model/training/{run.json,history.jsonl,events.jsonl} — the
//                       Fine-tune panel shows it as a finished run
//   untrained tokenizer resources/demo/tokenizer*.json — of `demo --untrained` (random weights)
#pragma once

#include <span>
#include <string_view>

namespace moe::demo {

struct EmbeddedFile {
    std::string_view name;   // path inside its folder, e.g. "model.safetensors"
    std::string_view bytes;  // the file's bytes, exactly
};

// config.json, model.safetensors, tokenizer.json, tokenizer_config.json (config.json last: a folder
// written in this order is complete once its config.json is there).
std::span<const EmbeddedFile> trained_model_files();
// request.json (the run description), history.jsonl, events.jsonl of the demo's training run.
std::span<const EmbeddedFile> trained_run_files();

extern const std::string_view k_tokenizer_json;         // resources/demo/tokenizer.json
extern const std::string_view k_tokenizer_config_json;  // resources/demo/tokenizer_config.json

}  // namespace moe::demo
