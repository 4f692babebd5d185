// CUDA: RMSNorm and the fused residual add + RMSNorm, and RMSNorm's backward (kernels/rmsnorm.cu;
// CPU twin cpu_rmsnorm.cpp). All f32.
#include <algorithm>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "linear.h"
#include "rmsnorm.h"

namespace moe {

using namespace cuda;

Tensor CudaBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps) {
    const int64_t T = x.rows(), C = x.cols();
    require_shape(weight, 1, C, "rmsnorm weight");
    Tensor y = make(T, C);
    MOE_CUDA_CHECK(kernels::rmsnorm_f32(f32(x), C, f32(weight), T, C, eps, f32(y), C, ctx_->stream()));
    return y;
}

Tensor CudaBackend::add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps) {
    const int64_t T = residual.rows(), C = residual.cols();
    require_shape(x, T, C, "add_rmsnorm x");
    require_shape(weight, 1, C, "add_rmsnorm weight");
    Tensor y = make(T, C);
    MOE_CUDA_CHECK(kernels::add_rmsnorm_f32(f32(residual), f32(x), f32(weight), T, C, eps, f32(y), ctx_->stream()));
    return y;
}

// dx from a block-per-row kernel that also keeps each row's 1/rms; dweight += Σ_t dy ⊙ x · (1/rms)
// as deterministic column sums (linear.h column_sum_into).
Tensor CudaBackend::rmsnorm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                                     Tensor* dweight) {
    const int64_t T = x.rows(), C = x.cols();
    require_shape(weight, 1, C, "rmsnorm_backward weight");
    require_shape(dy, T, C, "rmsnorm_backward dy");
    if (dweight) require_shape(*dweight, 1, C, "rmsnorm_backward dweight");
    cudaStream_t s = ctx_->stream();
    Tensor dx = make(T, C);
    Scratch inv_rms(*ctx_, size_t(std::max<int64_t>(T, 1)) * 4, "RMSNorm 1/rms per row");
    MOE_CUDA_CHECK(kernels::rmsnorm_backward_f32(f32(x), f32(weight), f32(dy), T, C, eps, f32(dx), inv_rms.as<float>(), s));
    if (dweight) {
        Scratch ws(*ctx_, size_t(std::max<int64_t>(kernels::column_sum_workspace(T, C), 1)) * 4, "column-sum partials");
        MOE_CUDA_CHECK(kernels::column_sum_into(f32(dy), f32(x), inv_rms.as<float>(), T, C, ws.as<float>(), f32(*dweight), s));
    }
    return dx;
}

}  // namespace moe
