#include "cuda/gemm.h"

#include "cuda/cuda_check.h"

#include <vector>

namespace moe::cuda {

void gemm_bf16(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
               const void* A, int64_t lda, const void* B, int64_t ldb, float beta, void* C, cudaDataType_t c_type,
               int64_t ldc) {
    if (m <= 0 || n <= 0 || k <= 0) return;
    MOE_CUBLAS_CHECK(cublasGemmEx(h, ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_16BF, int(lda), B, CUDA_R_16BF,
                                  int(ldb), &beta, C, c_type, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_bf16_strided(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                       float alpha, const void* A, int64_t lda, int64_t stride_a, const void* B, int64_t ldb,
                       int64_t stride_b, float beta, void* C, cudaDataType_t c_type, int64_t ldc, int64_t stride_c,
                       int64_t batch) {
    if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) return;
    MOE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_16BF, int(lda),
                                                stride_a, B, CUDA_R_16BF, int(ldb), stride_b, &beta, C, c_type, int(ldc),
                                                stride_c, int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_bf16_pointers(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                        float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb, float beta,
                        void* const* C, cudaDataType_t c_type, int64_t ldc, int64_t batch) {
    if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) return;
    MOE_CUBLAS_CHECK(cublasGemmBatchedEx(h, ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_16BF, int(lda), B,
                                         CUDA_R_16BF, int(ldb), &beta, C, c_type, int(ldc), int(batch), CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT));
}

bool gemm_bf16_grouped(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, const int* m, const int* n,
                       const int* k, float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb,
                       float beta, void* const* C, cudaDataType_t c_type, int64_t ldc, int count) {
    if (count <= 0) return true;
    // Per-problem arrays (host memory): every problem shares the operation, ld and scalars.
    const std::vector<cublasOperation_t> tas(size_t(count), ta), tbs(size_t(count), tb);
    const std::vector<int> ldas(size_t(count), static_cast<int>(lda)), ldbs(size_t(count), static_cast<int>(ldb)),
        ldcs(size_t(count), static_cast<int>(ldc)), ones(size_t(count), 1);
    const std::vector<float> alphas(size_t(count), alpha), betas(size_t(count), beta);
    const cublasStatus_t st = cublasGemmGroupedBatchedEx(
        h, tas.data(), tbs.data(), m, n, k, alphas.data(), A, CUDA_R_16BF, ldas.data(), B, CUDA_R_16BF, ldbs.data(),
        betas.data(), C, c_type, ldcs.data(), count, ones.data(), CUBLAS_COMPUTE_32F);
    if (st == CUBLAS_STATUS_NOT_SUPPORTED) return false;
    MOE_CUBLAS_CHECK(st);
    return true;
}

}  // namespace moe::cuda
