// cuBLAS GEMMs with bf16 inputs and f32 accumulation, in cuBLAS's column-major terms: a row-major
// [R, C] matrix with row stride ld is the column-major [C, R] matrix with leading dimension ld, so
// row-major Y = X · Wᵀ is column-major Yᶜ = Wᶜᵀ · Xᶜ (OP_T on W, OP_N on X). C is f32 or bf16;
// beta = 1 accumulates into it in place (weight gradients dW += dyᵀ x). Every call is checked.
#pragma once

#include <cublas_v2.h>

#include <cstdint>

namespace moe::cuda {

void gemm_bf16(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, float alpha,
               const void* A, int64_t lda, const void* B, int64_t ldb, float beta, void* C, cudaDataType_t c_type,
               int64_t ldc);

// C_b = alpha op(A_b) op(B_b) + beta C_b with X_b = X + b · stride_x (elements), b < batch.
void gemm_bf16_strided(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                       float alpha, const void* A, int64_t lda, int64_t stride_a, const void* B, int64_t ldb,
                       int64_t stride_b, float beta, void* C, cudaDataType_t c_type, int64_t ldc, int64_t stride_c,
                       int64_t batch);

// The same over device arrays of device pointers (one matrix per entry, uniform shapes).
void gemm_bf16_pointers(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                        float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb, float beta,
                        void* const* C, cudaDataType_t c_type, int64_t ldc, int64_t batch);

// One cublasGemmGroupedBatchedEx call: problem i (< count) has its own m[i], n[i], k[i] (host
// arrays), the operands and ld as above. Returns false, running nothing, where cuBLAS does not take
// this combination of types (CUBLAS_STATUS_NOT_SUPPORTED): the caller then runs the GEMMs one by
// one. Any other failure throws.
bool gemm_bf16_grouped(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, const int* m, const int* n,
                       const int* k, float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb,
                       float beta, void* const* C, cudaDataType_t c_type, int64_t ldc, int count);

}  // namespace moe::cuda
