// Writing and finding the embedded demo model (see demo_spec.h for what it is).
//   moe-engine demo --out DIR   writes it (the same bytes every time);
//   moe-engine serve --demo     uses $XDG_CACHE_HOME/moe-workbench/demo-model, writing it if missing.
#pragma once

#include <string>

namespace moe::demo {

// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json into `dir`
// (created if needed; each file written to a temporary name and renamed, so a crash never leaves a
// half-written file under the real name). Throws moe::Error("demo.write_failed") naming the file.
void write_demo_model(const std::string& dir);

// True when `dir` holds this build's demo model: config and tokenizer files byte-identical, weights
// file of the expected size (a version bump changes the config, so stale copies are caught).
bool demo_model_is_current(const std::string& dir);

// $XDG_CACHE_HOME/moe-workbench/demo-model (XDG default: ~/.cache).
std::string default_demo_dir();

// Writes the demo model into `dir` unless it is already current; returns `dir`.
std::string ensure_demo_model(const std::string& dir);

}  // namespace moe::demo
