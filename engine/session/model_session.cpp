#include "session/model_session.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#ifdef MOE_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace moe {

std::unique_ptr<Backend> make_backend(const std::string& choice) {
    if (choice != "cpu" && choice != "cuda" && choice != "auto")
        throw Error("cli.bad_argument", "", "--backend must be cpu, cuda or auto, got '" + choice + "'");
    if (choice == "cpu") {
        spdlog::info("backend: cpu");
        return std::make_unique<CpuBackend>();
    }
#ifdef MOE_HAVE_CUDA
    if (choice == "cuda") {
        auto backend = make_cuda_backend();  // throws cuda.no_device / cuda.driver_too_old / ...
        spdlog::info("backend: {}", backend->name());
        return backend;
    }
    const std::string why_not = cuda_unavailable_reason();
    if (why_not.empty()) {
        auto backend = make_cuda_backend();
        spdlog::info("backend: {} (auto)", backend->name());
        return backend;
    }
    spdlog::info("backend: cpu (auto: {})", why_not);
    return std::make_unique<CpuBackend>();
#else
    if (choice == "cuda")
        throw Error("backend.unavailable", "", "this build has no CUDA backend (nvcc was not found at build time); use --backend cpu");
    spdlog::info("backend: cpu (auto: this build has no CUDA backend)");
    return std::make_unique<CpuBackend>();
#endif
}

ModelSession open_model(const std::string& dir, const std::string& backend_choice, int64_t max_context) {
    ModelSession s;
    s.checkpoint = Checkpoint::open(dir);
    s.backend = make_backend(backend_choice);
    ModelOptions options;
    options.max_context = max_context;
    s.model = load_model(*s.checkpoint, *s.backend, options);
    return s;
}

}  // namespace moe
