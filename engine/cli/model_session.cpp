#include "cli/model_session.h"

#include <cstdio>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#ifdef MOE_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace moe::cli {

std::unique_ptr<Backend> make_backend(const std::string& choice) {
    if (choice != "cpu" && choice != "cuda" && choice != "auto")
        throw Error("cli.bad_argument", "", "--backend must be cpu, cuda or auto, got '" + choice + "'");
    if (choice == "cpu") {
        std::fprintf(stderr, "backend: cpu\n");
        return std::make_unique<CpuBackend>();
    }
#ifdef MOE_HAVE_CUDA
    if (choice == "cuda") {
        auto backend = make_cuda_backend();  // throws cuda.no_device / cuda.driver_too_old / ...
        std::fprintf(stderr, "backend: %s\n", backend->name().c_str());
        return backend;
    }
    const std::string why_not = cuda_unavailable_reason();
    if (why_not.empty()) {
        auto backend = make_cuda_backend();
        std::fprintf(stderr, "backend: %s (auto)\n", backend->name().c_str());
        return backend;
    }
    std::fprintf(stderr, "backend: cpu (auto: %s)\n", why_not.c_str());
    return std::make_unique<CpuBackend>();
#else
    if (choice == "cuda")
        throw Error("backend.unavailable", "", "this build has no CUDA backend (nvcc was not found at build time); use --backend cpu");
    std::fprintf(stderr, "backend: cpu (auto: this build has no CUDA backend)\n");
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

}  // namespace moe::cli
