// CUDA: cross-entropy of a block of rows (kernels/loss.cu; CPU twin cpu_loss.cpp), f32 with the
// per-row losses in f64. The loss sum is a host value: one sync per call, after the gradient.
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "loss.h"

namespace moe {

using namespace cuda;

CrossEntropyResult CudaBackend::cross_entropy(const Tensor& logits, const Tensor& targets, float scale) {
    const int64_t T = logits.rows(), V = logits.cols();
    require_shape(targets, T, 1, "cross_entropy targets");
    CrossEntropyResult r{0.0, 0, make(T, V)};
    if (T == 0) return r;
    cudaStream_t s = ctx_->stream();
    Scratch row_loss(*ctx_, size_t(T) * 8, "cross-entropy per row"), row_status(*ctx_, size_t(T) * 4, "cross-entropy row status");
    MOE_CUDA_CHECK(kernels::cross_entropy_f32(f32(logits), i32(targets), T, V, scale, f32(r.d_logits),
                                              row_loss.as<double>(), row_status.as<int32_t>(), s));
    std::vector<double> loss(static_cast<size_t>(T));
    std::vector<int32_t> status(static_cast<size_t>(T));
    MOE_CUDA_CHECK(cudaMemcpyAsync(loss.data(), row_loss.as<double>(), loss.size() * 8, cudaMemcpyDeviceToHost, s));
    MOE_CUDA_CHECK(cudaMemcpyAsync(status.data(), row_status.as<int32_t>(), status.size() * 4, cudaMemcpyDeviceToHost, s));
    synchronize();
    for (int64_t t = 0; t < T; ++t) {
        if (status[size_t(t)] == 2)
            throw_invalid_argument("cross_entropy: target " + std::to_string(int64_t(loss[size_t(t)])) + " outside [0, " +
                                   std::to_string(V) + ")");
        if (status[size_t(t)] != 1) continue;
        r.loss_sum += loss[size_t(t)];
        ++r.n_valid;
    }
    return r;
}

}  // namespace moe
