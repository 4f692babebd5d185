// Checked CUDA and cuBLAS calls: every call in the CUDA backend goes through one of these macros,
// which throw moe::Error naming the call, file:line and the CUDA error, with a stable code:
//   cuda.out_of_memory, cuda.no_device, cuda.driver_too_old, cuda.error (anything else), cublas.error.
// Destructors cannot throw: they use MOE_CUDA_WARN, which logs and carries on.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace moe::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t e, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file, int line);
void warn_cuda_error(cudaError_t e, const char* expr, const char* file, int line) noexcept;
// The stable code for a CUDA error ("cuda.out_of_memory", ...; "cuda.device_fault" for the sticky
// errors that lose the context, which throw_cuda_error also reports to core/device_fault.h).
const char* cuda_error_code(cudaError_t e);

}  // namespace moe::cuda

#define MOE_CUDA_CHECK(expr)                                                              \
    do {                                                                                  \
        const cudaError_t moe_err_ = (expr);                                              \
        if (moe_err_ != cudaSuccess) ::moe::cuda::throw_cuda_error(moe_err_, #expr, __FILE__, __LINE__); \
    } while (0)

#define MOE_CUBLAS_CHECK(expr)                                                            \
    do {                                                                                  \
        const cublasStatus_t moe_st_ = (expr);                                            \
        if (moe_st_ != CUBLAS_STATUS_SUCCESS) ::moe::cuda::throw_cublas_error(moe_st_, #expr, __FILE__, __LINE__); \
    } while (0)

#define MOE_CUDA_WARN(expr)                                                               \
    do {                                                                                  \
        const cudaError_t moe_err_ = (expr);                                              \
        if (moe_err_ != cudaSuccess) ::moe::cuda::warn_cuda_error(moe_err_, #expr, __FILE__, __LINE__); \
    } while (0)
