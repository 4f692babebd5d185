// CUDA: the optimiser's ops (kernels/optimizer.cu; CPU twin cpu_optimizer.cpp). AdamW in f32 with
// the bias corrections computed on the host as the CPU does; Σ x² in f64 from per-block partial
// sums added on the host in order (a host value: one sync per call, also for sum_squares_many's
// whole list of tensors). The _many ops (and refresh_weights_many, the bf16 copies of the updated
// weights) take every tensor in one launch over chunks of at most
// kernels::kMultiChunk elements (a table of pointers and chunks sent in one copy).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "cuda/expert_groups.h"
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

namespace {

// A multi-tensor launch's tables in device memory: `table` (one entry per tensor) then the
// chunks, sent in one copy and freed in stream order after the launch.
template <class Entry>
struct MultiTables {
    std::unique_ptr<Scratch> device;
    const Entry* table = nullptr;
    const kernels::MultiChunk* chunks = nullptr;
    int64_t n_chunks = 0;
};

template <class Entry>
MultiTables<Entry> upload_tables(DeviceContext& ctx, const std::vector<Entry>& table, const std::vector<int64_t>& sizes,
                                 std::vector<kernels::MultiChunk>* chunks_out = nullptr) {
    const std::vector<kernels::MultiChunk> chunks = kernels::multi_chunks(sizes);
    MultiTables<Entry> t;
    t.n_chunks = int64_t(chunks.size());
    if (chunks.empty()) return t;
    Staging staging;
    const size_t at_table = staging.add(table), at_chunks = staging.add(chunks);
    const unsigned char* base = staging.upload(ctx, t.device);
    t.table = reinterpret_cast<const Entry*>(base + at_table);
    t.chunks = reinterpret_cast<const kernels::MultiChunk*>(base + at_chunks);
    if (chunks_out) *chunks_out = chunks;
    return t;
}

kernels::AdamWArgs adamw_args(const AdamWStep& a, float weight_decay) {
    if (a.step < 1) throw_invalid_argument("adamw_update: step counts from 1");
    kernels::AdamWArgs k;
    const float bc1 = float(1.0 - std::pow(double(a.beta1), double(a.step)));
    k.bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(a.beta2), double(a.step))));
    k.step_size = a.lr / bc1;
    k.decay = 1.0f - a.lr * weight_decay;
    k.beta1 = a.beta1;
    k.beta2 = a.beta2;
    k.eps = a.eps;
    k.grad_scale = a.grad_scale;
    return k;
}

}  // namespace

double CudaBackend::sum_squares_many(std::span<const Tensor* const> xs) {
    std::vector<const float*> ptrs;
    std::vector<int64_t> sizes;
    for (const Tensor* x : xs) {
        ptrs.push_back(f32(*x));
        sizes.push_back(x->numel());
    }
    std::vector<kernels::MultiChunk> chunks;
    const MultiTables<const float*> t = upload_tables(*ctx_, ptrs, sizes, &chunks);
    if (t.n_chunks == 0) return 0.0;
    Scratch partials(*ctx_, size_t(t.n_chunks) * 8, "sum-of-squares partials");
    MOE_CUDA_CHECK(kernels::sum_squares_many_partials(t.table, t.chunks, t.n_chunks, partials.as<double>(), ctx_->stream()));
    std::vector<double> host(size_t(t.n_chunks));
    MOE_CUDA_CHECK(cudaMemcpyAsync(host.data(), partials.as<double>(), host.size() * 8, cudaMemcpyDeviceToHost,
                                   ctx_->stream()));
    synchronize();  // the one sync for every tensor
    // Each tensor's chunks summed first, then the tensors in order (a fixed order: the same sum
    // for the same gradients).
    double s = 0.0, t_sum = 0.0;
    for (size_t c = 0; c < chunks.size(); ++c) {
        t_sum += host[c];
        if (c + 1 == chunks.size() || chunks[c + 1].tensor != chunks[c].tensor) {
            s += t_sum;
            t_sum = 0.0;
        }
    }
    return s;
}

void CudaBackend::adamw_update_many(std::span<const AdamWParam> params, const AdamWStep& a) {
    const kernels::AdamWArgs shared = adamw_args(a, 0.0f);
    std::vector<kernels::AdamWTensor> table;
    std::vector<int64_t> sizes;
    for (const AdamWParam& p : params) {
        require_shape(*p.g, p.p->rows(), p.p->cols(), "adamw_update grad");
        require_shape(*p.m, p.p->rows(), p.p->cols(), "adamw_update exp_avg");
        require_shape(*p.v, p.p->rows(), p.p->cols(), "adamw_update exp_avg_sq");
        table.push_back({f32(*p.p), f32(*p.g), f32(*p.m), f32(*p.v), 1.0f - a.lr * p.weight_decay});
        sizes.push_back(p.p->numel());
    }
    const MultiTables<kernels::AdamWTensor> t = upload_tables(*ctx_, table, sizes);
    MOE_CUDA_CHECK(kernels::adamw_f32_many(t.table, t.chunks, t.n_chunks, shared, ctx_->stream()));
}

void CudaBackend::zero_many(std::span<Tensor* const> xs) {
    std::vector<float*> ptrs;
    std::vector<int64_t> sizes;
    for (Tensor* x : xs) {
        if (x->dtype() != DType::F32) {
            zero(*x);
            continue;
        }
        ptrs.push_back(f32(*x));
        sizes.push_back(x->numel());
    }
    const MultiTables<float*> t = upload_tables(*ctx_, ptrs, sizes);
    MOE_CUDA_CHECK(kernels::zero_f32_many(t.table, t.chunks, t.n_chunks, ctx_->stream()));
}

void CudaBackend::refresh_weights_many(std::span<const WeightRefresh> ws) {
    std::vector<kernels::ToBf16Tensor> table;
    std::vector<int64_t> sizes;
    for (const WeightRefresh& w : ws) {
        const CudaWeightStorage& s = weight_storage(*w.weight);
        if (s.master != w.master->storage())
            throw_invalid_argument("refresh_weights_many: a weight was not made from its master");
        require_shape(*w.master, s.rows, s.cols, "refresh_weights_many master");
        table.push_back({f32(*w.master), s.data.as<uint16_t>()});
        sizes.push_back(w.master->numel());
    }
    const MultiTables<kernels::ToBf16Tensor> t = upload_tables(*ctx_, table, sizes);
    MOE_CUDA_CHECK(kernels::f32_to_bf16_many(t.table, t.chunks, t.n_chunks, ctx_->stream()));
}

void CudaBackend::adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& a) {
    require_shape(g, p.rows(), p.cols(), "adamw_update grad");
    require_shape(m, p.rows(), p.cols(), "adamw_update exp_avg");
    require_shape(v, p.rows(), p.cols(), "adamw_update exp_avg_sq");
    const kernels::AdamWArgs k = adamw_args(a, a.weight_decay);
    MOE_CUDA_CHECK(kernels::adamw_f32(f32(p), f32(g), f32(m), f32(v), p.numel(), k, ctx_->stream()));
}

}  // namespace moe
