// CPU: the optimiser's ops (kernels/optimizer.cu, tests/train/optimizer_test.cpp).
// AdamW with PyTorch's semantics (torch.optim.AdamW, foreach=False), in fp32 like PyTorch's
// fp32 path; g is scaled by the global-norm clipping coefficient first:
//   p ← p·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
//   p ← p − (lr / (1−β1^t)) · m / (sqrt(v) / sqrt(1−β2^t) + eps)
#include <cmath>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

double CpuBackend::sum_squares(const Tensor& x) {
    const float* p = f32(x);
    double s = 0.0;
    for (int64_t i = 0; i < x.numel(); ++i) s += double(p[i]) * double(p[i]);
    return s;
}

void CpuBackend::adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& a) {
    require_shape(g, p.rows(), p.cols(), "adamw_update grad");
    require_shape(m, p.rows(), p.cols(), "adamw_update exp_avg");
    require_shape(v, p.rows(), p.cols(), "adamw_update exp_avg_sq");
    if (a.step < 1) throw_invalid_argument("adamw_update: step counts from 1");
    const float bc1 = float(1.0 - std::pow(double(a.beta1), double(a.step)));
    const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(a.beta2), double(a.step))));
    const float step_size = a.lr / bc1, decay = 1.0f - a.lr * a.weight_decay;
    float *pp = f32(p), *pm = f32(m), *pv = f32(v);
    const float* pg = f32(g);
    for (int64_t i = 0; i < p.numel(); ++i) {
        const float gi = pg[i] * a.grad_scale;
        pp[i] *= decay;
        pm[i] += (gi - pm[i]) * (1.0f - a.beta1);  // lerp, as PyTorch
        pv[i] = pv[i] * a.beta2 + (1.0f - a.beta2) * gi * gi;
        pp[i] -= step_size * pm[i] / (std::sqrt(pv[i]) / bc2_sqrt + a.eps);
    }
}

}  // namespace moe
