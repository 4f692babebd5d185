// CPU: RMSNorm and the fused residual-add + RMSNorm (kernels/rmsnorm.cu, tests/model/rmsnorm_test.cpp).
//
// HF order (doc §3.2): y = weight * (x * rsqrt(mean(x²) + eps)), all in fp32 here.
#include <cmath>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

namespace {

// One row: out[i] = w[i] * (x[i] * rsqrt(mean(x²) + eps)).
void rmsnorm_row(const float* x, const float* w, int64_t n, float eps, float* out) {
    float sum_sq = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum_sq += x[i] * x[i];
    const float inv_rms = 1.0f / std::sqrt(sum_sq / float(n) + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = w[i] * (x[i] * inv_rms);
}

}  // namespace

Tensor CpuBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps) {
    const int64_t T = x.rows(), C = x.cols();
    require_shape(weight, 1, C, "rmsnorm weight");
    Tensor y = make_tensor(T, C);
    const float* px = f32(x);
    const float* pw = f32(weight);
    float* py = f32(y);
#pragma omp parallel for if (T * C >= kMinParallelWork)
    for (int64_t t = 0; t < T; ++t) rmsnorm_row(px + t * C, pw, C, eps, py + t * C);
    return y;
}

Tensor CpuBackend::add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps) {
    add_inplace(residual, x);
    return rmsnorm(residual, weight, eps);
}

}  // namespace moe
