#include "cuda/cuda_check.h"

#include <spdlog/spdlog.h>

#include <string>

#include "core/device_fault.h"

namespace moe::cuda {

namespace {
std::string where(const char* expr, const char* file, int line) {
    std::string f = file;
    const auto slash = f.find("engine/");
    if (slash != std::string::npos) f = f.substr(slash);
    return f + ":" + std::to_string(line) + ": " + expr;
}

// Sticky errors: the context is lost, every later call fails until the process exits.
bool is_device_fault(cudaError_t e) {
    switch (e) {
        case cudaErrorIllegalAddress:
        case cudaErrorLaunchFailure:
        case cudaErrorHardwareStackError:
        case cudaErrorIllegalInstruction:
        case cudaErrorMisalignedAddress:
        case cudaErrorInvalidAddressSpace:
        case cudaErrorInvalidPc:
        case cudaErrorAssert:
        case cudaErrorLaunchTimeout:
        case cudaErrorECCUncorrectable: return true;
        default: return false;
    }
}
}  // namespace

const char* cuda_error_code(cudaError_t e) {
    if (is_device_fault(e)) return "cuda.device_fault";
    switch (e) {
        case cudaErrorMemoryAllocation: return "cuda.out_of_memory";
        case cudaErrorNoDevice: return "cuda.no_device";
        case cudaErrorInsufficientDriver: return "cuda.driver_too_old";
        default: return "cuda.error";
    }
}

void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
    // Clear the (non-sticky) last-error state so a caller that recovers, e.g. from an OOM, starts clean.
    (void)cudaGetLastError();
    std::string message = where(expr, file, line) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    if (is_device_fault(e)) {
        report_device_fault(message);  // serve exits on it so that the engine restarts (core/device_fault.h)
        message += "; the GPU context is lost until the engine restarts";
    }
    throw Error(cuda_error_code(e), "", message);
}

void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file, int line) {
    std::string message = where(expr, file, line) + " failed: " + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")";
    // A kernel that faulted before this call leaves its sticky error behind cuBLAS's status: the
    // context is lost all the same.
    if (const cudaError_t e = cudaPeekAtLastError(); is_device_fault(e)) {
        message += std::string(" after ") + cudaGetErrorName(e) + "; the GPU context is lost until the engine restarts";
        report_device_fault(message);
        throw Error("cuda.device_fault", "", message);
    }
    throw Error(s == CUBLAS_STATUS_ALLOC_FAILED ? "cuda.out_of_memory" : "cublas.error", "", message);
}

void warn_cuda_error(cudaError_t e, const char* expr, const char* file, int line) noexcept {
    try {
        spdlog::warn("{} failed: {} ({})", where(expr, file, line), cudaGetErrorName(e), cudaGetErrorString(e));
    } catch (...) {
    }
}

}  // namespace moe::cuda
