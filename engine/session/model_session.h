// What every model-running front end needs (the CLI's subcommands, the server's model worker):
// the checkpoint, a backend chosen by --backend, and the model built on it. This module sits below
// cli/ and server/ and is the one place that knows which backends this build has (cpu/, cuda/),
// so neither front end includes a CUDA header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/checkpoint.h"
#include "model/backend.h"
#include "model/model.h"

namespace moe {

// --backend cpu|cuda|auto. Logs the choice ("backend: cpu (auto: ...)").
// Throws moe::Error("cli.bad_argument") for another word, ("backend.unavailable") when the requested
// backend cannot run here, or the CUDA backend's own errors (cuda.no_device, cuda.driver_too_old, ...).
std::unique_ptr<Backend> make_backend(const std::string& choice);

// Members in construction order; destroyed in reverse (the model before its backend and checkpoint).
struct ModelSession {
    std::unique_ptr<Checkpoint> checkpoint;
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Model> model;
};

// Opens the checkpoint dir (strict validation), makes the backend and loads the model.
ModelSession open_model(const std::string& dir, const std::string& backend_choice, int64_t max_context = 4096);

}  // namespace moe
