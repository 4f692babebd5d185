#include "cuda/bench/ceilings.h"

#include <algorithm>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_context.h"
#include "cuda/device_buffer.h"
#include "elementwise.h"

namespace moe::bench {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double measure_copy_gbs(CudaBackend& be, size_t bytes, int reps) {
    cuda::DeviceBuffer a(bytes, "copy benchmark source"), b(bytes, "copy benchmark destination");
    cudaStream_t s = be.stream();
    MOE_CUDA_CHECK(kernels::fill_random_bf16(a.as<uint16_t>(), int64_t(bytes / 2), 7, 1.0f, s));
    cuda::Event e0, e1;
    std::vector<double> ms;
    for (int i = -2; i < reps; ++i) {
        MOE_CUDA_CHECK(cudaEventRecord(e0.get(), s));
        MOE_CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, s));
        MOE_CUDA_CHECK(cudaEventRecord(e1.get(), s));
        MOE_CUDA_CHECK(cudaEventSynchronize(e1.get()));
        float t = 0;
        MOE_CUDA_CHECK(cudaEventElapsedTime(&t, e0.get(), e1.get()));
        if (i >= 0) ms.push_back(t);
    }
    return 2.0 * double(bytes) / (median(ms) * 1e-3) / 1e9;
}

double measure_gemm_tflops(CudaBackend& be, int n, int reps) {
    const size_t elems = size_t(n) * size_t(n);
    cuda::DeviceBuffer a(elems * 2, "GEMM benchmark A"), b(elems * 2, "GEMM benchmark B"), c(elems * 4, "GEMM benchmark C");
    cudaStream_t s = be.stream();
    MOE_CUDA_CHECK(kernels::fill_random_bf16(a.as<uint16_t>(), int64_t(elems), 11, 1.0f, s));
    MOE_CUDA_CHECK(kernels::fill_random_bf16(b.as<uint16_t>(), int64_t(elems), 12, 1.0f, s));
    cublasHandle_t h = be.context()->cublas();
    const float alpha = 1.0f, beta = 0.0f;
    cuda::Event e0, e1;
    std::vector<double> ms;
    for (int i = -2; i < reps; ++i) {
        MOE_CUDA_CHECK(cudaEventRecord(e0.get(), s));
        MOE_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &alpha, a.get(), CUDA_R_16BF, n, b.get(),
                                      CUDA_R_16BF, n, &beta, c.get(), CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT));
        MOE_CUDA_CHECK(cudaEventRecord(e1.get(), s));
        MOE_CUDA_CHECK(cudaEventSynchronize(e1.get()));
        float t = 0;
        MOE_CUDA_CHECK(cudaEventElapsedTime(&t, e0.get(), e1.get()));
        if (i >= 0) ms.push_back(t);
    }
    return 2.0 * double(n) * n * n / (median(ms) * 1e-3) / 1e12;
}

}  // namespace moe::bench
