// CPU: RMSNorm and the fused residual-add + RMSNorm (kernels/rmsnorm.cu, tests/model/rmsnorm_test.cpp).
//
// HF order (doc §3.2): y = weight * (x * rsqrt(mean(x²) + eps)), all in fp32 here.
// Backward with r = rsqrt(mean(x²) + eps) and g = weight ⊙ dy:
//   dx = r·g − r³·x·(Σ_j g_j x_j)/C        dweight += dy ⊙ x·r
#include <cmath>
#include <vector>

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

Tensor CpuBackend::rmsnorm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                                    Tensor* dweight) {
    const int64_t T = x.rows(), C = x.cols();
    require_shape(weight, 1, C, "rmsnorm_backward weight");
    require_shape(dy, T, C, "rmsnorm_backward dy");
    if (dweight) require_shape(*dweight, 1, C, "rmsnorm_backward dweight");
    Tensor dx = make_tensor(T, C);
    const float* px = f32(x);
    const float* pw = f32(weight);
    const float* pdy = f32(dy);
    float* pdx = f32(dx);
    std::vector<float> r(static_cast<size_t>(T));
#pragma omp parallel for if (T * C >= kMinParallelWork)
    for (int64_t t = 0; t < T; ++t) {
        const float* xr = px + t * C;
        const float* g = pdy + t * C;
        float sum_sq = 0.0f, dot_gx = 0.0f;
        for (int64_t i = 0; i < C; ++i) {
            sum_sq += xr[i] * xr[i];
            dot_gx += pw[i] * g[i] * xr[i];
        }
        const float inv_rms = 1.0f / std::sqrt(sum_sq / float(C) + eps);
        r[size_t(t)] = inv_rms;
        const float k = inv_rms * inv_rms * inv_rms * dot_gx / float(C);
        for (int64_t i = 0; i < C; ++i) pdx[t * C + i] = inv_rms * pw[i] * g[i] - k * xr[i];
    }
    if (dweight) {
        float* pdw = f32(*dweight);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t i = 0; i < C; ++i) pdw[i] += pdy[t * C + i] * px[t * C + i] * r[size_t(t)];
    }
    return dx;
}

}  // namespace moe
