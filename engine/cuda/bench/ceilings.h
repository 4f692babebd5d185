// The two ceilings every GPU benchmark reports against, measured in the same run: the
// device-to-device copy bandwidth (decode) and the cuBLAS bf16 GEMM rate (prefill, training MFU).
#pragma once

#include <cstddef>
#include <vector>

namespace moe {
class CudaBackend;
}

namespace moe::bench {

// Median of a non-empty sample.
double median(std::vector<double> v);
// cudaMemcpyAsync of `bytes` device to device, median of `reps` after 2 warm-ups; GB/s counting
// bytes read + written.
double measure_copy_gbs(CudaBackend& be, size_t bytes, int reps);
// bf16 x bf16 -> f32 GEMM of n x n x n on random data through cuBLAS, median of `reps` after 2
// warm-ups; TFLOP/s at 2 flops per multiply-add.
double measure_gemm_tflops(CudaBackend& be, int n, int reps);

}  // namespace moe::bench
