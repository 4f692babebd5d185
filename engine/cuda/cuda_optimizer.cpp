// CUDA: the optimiser's ops (kernels/optimizer.cu; CPU twin cpu_optimizer.cpp). AdamW in f32 with
// the bias corrections computed on the host as the CPU does; Σ x² in f64 from per-block partial
// sums added on the host in order (a host value: one sync per call, also for sum_squares_many's
// whole list of tensors).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "optimizer.h"

namespace moe {

using namespace cuda;

double CudaBackend::sum_squares(const Tensor& x) {
    const int blocks = kernels::sum_squares_blocks(x.numel());
    Scratch partials(*ctx_, size_t(blocks) * 8, "sum-of-squares partials");
    MOE_CUDA_CHECK(kernels::sum_squares_partials(f32(x), x.numel(), partials.as<double>(), ctx_->stream()));
    std::vector<double> host(static_cast<size_t>(blocks));
    MOE_CUDA_CHECK(cudaMemcpyAsync(host.data(), partials.as<double>(), host.size() * 8, cudaMemcpyDeviceToHost,
                                   ctx_->stream()));
    synchronize();
    double s = 0.0;
    for (double v : host) s += v;
    return s;
}

double CudaBackend::sum_squares_many(std::span<const Tensor* const> xs) {
    std::vector<int> blocks;
    size_t total = 0;
    for (const Tensor* x : xs) {
        blocks.push_back(kernels::sum_squares_blocks(x->numel()));
        total += size_t(blocks.back());
    }
    Scratch partials(*ctx_, std::max<size_t>(total, 1) * 8, "sum-of-squares partials");
    size_t at = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
        MOE_CUDA_CHECK(kernels::sum_squares_partials(f32(*xs[i]), xs[i]->numel(), partials.as<double>() + at,
                                                     ctx_->stream()));
        at += size_t(blocks[i]);
    }
    std::vector<double> host(total);
    if (total > 0)
        MOE_CUDA_CHECK(cudaMemcpyAsync(host.data(), partials.as<double>(), total * 8, cudaMemcpyDeviceToHost,
                                       ctx_->stream()));
    synchronize();  // the one sync for every tensor
    // Each tensor's partials summed first, then the tensors in order: sum_squares' order exactly.
    double s = 0.0;
    at = 0;
    for (int n : blocks) {
        double t = 0.0;
        for (int j = 0; j < n; ++j) t += host[at + size_t(j)];
        s += t;
        at += size_t(n);
    }
    return s;
}

void CudaBackend::adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& a) {
    require_shape(g, p.rows(), p.cols(), "adamw_update grad");
    require_shape(m, p.rows(), p.cols(), "adamw_update exp_avg");
    require_shape(v, p.rows(), p.cols(), "adamw_update exp_avg_sq");
    if (a.step < 1) throw_invalid_argument("adamw_update: step counts from 1");
    kernels::AdamWArgs k;
    const float bc1 = float(1.0 - std::pow(double(a.beta1), double(a.step)));
    k.bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(a.beta2), double(a.step))));
    k.step_size = a.lr / bc1;
    k.decay = 1.0f - a.lr * a.weight_decay;
    k.beta1 = a.beta1;
    k.beta2 = a.beta2;
    k.eps = a.eps;
    k.grad_scale = a.grad_scale;
    MOE_CUDA_CHECK(kernels::adamw_f32(f32(p), f32(g), f32(m), f32(v), p.numel(), k, ctx_->stream()));
}

}  // namespace moe
