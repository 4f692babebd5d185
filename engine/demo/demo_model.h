// The embedded demo models and where they go.
//   trained (the default): a tiny DeepSeek-V3-architecture model trained from scratch by this engine
//     on five real-text corpora (resources/demo-model/README.md); fp8, 13.8 MB, compiled in.
//       moe-engine demo --out DIR      writes it;  moe-engine serve --demo   serves it (model id demo-trained)
//   untrained: the same architecture family with deterministic random weights (demo_spec.h), the
//     baseline the trained one's routing is compared with.
//       moe-engine demo --untrained    writes it;  moe-engine serve --demo-untrained serves it
// `serve` keeps them under $XDG_CACHE_HOME/moe-workbench/, written once and rewritten when a build
// carries different bytes.
#pragma once

#include <string>

namespace moe::demo {

enum class DemoKind { Trained, Untrained };

inline constexpr const char* kTrainedModelId = "demo-trained";
inline constexpr const char* kUntrainedModelId = "demo-untrained";
// The trained demo's training run, as a run folder under the server's runs folder.
inline constexpr const char* kTrainingRunId = "demo-model-training";

const char* model_id(DemoKind kind);

// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json into `dir`
// (created if needed; each file written to a temporary name and renamed, config.json last, so a
// crash never leaves a half-written file under the real name nor a config over missing weights).
// Throws moe::Error("demo.write_failed") naming the file.
void write_demo_model(const std::string& dir, DemoKind kind = DemoKind::Trained);

// True when `dir` holds this build's demo model of `kind`, byte for byte (a stale or damaged copy
// is caught; the weights are compared whole — 14 MB, a few milliseconds).
bool demo_model_is_current(const std::string& dir, DemoKind kind = DemoKind::Trained);

// $XDG_CACHE_HOME/moe-workbench/demo-model (trained) or demo-model-untrained (XDG default: ~/.cache).
std::string default_demo_dir(DemoKind kind = DemoKind::Trained);

// Writes the demo model into `dir` unless it is already current; returns `dir`.
std::string ensure_demo_model(const std::string& dir, DemoKind kind = DemoKind::Trained);

// Puts the trained demo's training run (request.json with `model` set to `model_dir`,
// history.jsonl, events.jsonl) into runs_root/kTrainingRunId unless a folder of that name exists:
// the Fine-tune panel lists it as a finished run and draws its curves. Returns the folder.
std::string ensure_demo_run(const std::string& runs_root, const std::string& model_dir);

}  // namespace moe::demo
