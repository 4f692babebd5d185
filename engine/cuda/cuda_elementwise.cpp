// CUDA: add, slices and concatenation, and the training helpers (scaled add, row gather/scatter,
// dropout) (kernels/elementwise.cu; CPU twin cpu_elementwise.cpp).
#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "elementwise.h"

namespace moe {

using namespace cuda;

void CudaBackend::add_inplace(Tensor& y, const Tensor& x) {
    require_shape(x, y.rows(), y.cols(), "add_inplace x");
    MOE_CUDA_CHECK(kernels::add_inplace_f32(f32(y), f32(x), y.numel(), ctx_->stream()));
}

Tensor CudaBackend::add(const Tensor& a, const Tensor& b) {
    require_shape(b, a.rows(), a.cols(), "add b");
    Tensor out = make(a.rows(), a.cols());
    MOE_CUDA_CHECK(kernels::add_f32(f32(a), f32(b), a.numel(), f32(out), ctx_->stream()));
    return out;
}

Tensor CudaBackend::slice_cols(const Tensor& x, int64_t col0, int64_t ncols) {
    if (col0 < 0 || ncols < 0 || col0 + ncols > x.cols()) throw_invalid_argument("slice_cols: range out of bounds");
    Tensor out = make(x.rows(), ncols);
    if (x.rows() > 0 && ncols > 0)
        MOE_CUDA_CHECK(cudaMemcpy2DAsync(f32(out), size_t(ncols) * 4, f32(x) + col0, size_t(x.cols()) * 4,
                                         size_t(ncols) * 4, size_t(x.rows()), cudaMemcpyDeviceToDevice, ctx_->stream()));
    return out;
}

Tensor CudaBackend::slice_rows(const Tensor& x, int64_t row0, int64_t nrows) {
    if (row0 < 0 || nrows < 0 || row0 + nrows > x.rows()) throw_invalid_argument("slice_rows: range out of bounds");
    Tensor out = make(nrows, x.cols());
    if (nrows * x.cols() > 0)
        MOE_CUDA_CHECK(cudaMemcpyAsync(f32(out), f32(x) + row0 * x.cols(), size_t(nrows * x.cols()) * 4,
                                       cudaMemcpyDeviceToDevice, ctx_->stream()));
    return out;
}

Tensor CudaBackend::concat_rows(std::span<const Tensor> parts) {
    if (parts.empty()) throw_invalid_argument("concat_rows: no parts");
    int64_t rows = 0;
    for (const Tensor& p : parts) {
        if (p.cols() != parts[0].cols()) throw_invalid_argument("concat_rows: column counts differ");
        rows += p.rows();
    }
    Tensor out = make(rows, parts[0].cols());
    float* dst = f32(out);
    for (const Tensor& p : parts) {
        if (p.numel() > 0)
            MOE_CUDA_CHECK(cudaMemcpyAsync(dst, f32(p), size_t(p.numel()) * 4, cudaMemcpyDeviceToDevice, ctx_->stream()));
        dst += p.numel();
    }
    return out;
}

Tensor CudaBackend::concat_cols(const Tensor& a, const Tensor& b) {
    if (a.rows() != b.rows()) throw_invalid_argument("concat_cols: row counts differ");
    const int64_t ca = a.cols(), cb = b.cols(), w = ca + cb;
    Tensor out = make(a.rows(), w);
    if (a.rows() == 0) return out;
    if (ca > 0)
        MOE_CUDA_CHECK(cudaMemcpy2DAsync(f32(out), size_t(w) * 4, f32(a), size_t(ca) * 4, size_t(ca) * 4, size_t(a.rows()),
                                         cudaMemcpyDeviceToDevice, ctx_->stream()));
    if (cb > 0)
        MOE_CUDA_CHECK(cudaMemcpy2DAsync(f32(out) + ca, size_t(w) * 4, f32(b), size_t(cb) * 4, size_t(cb) * 4,
                                         size_t(b.rows()), cudaMemcpyDeviceToDevice, ctx_->stream()));
    return out;
}

}  // namespace moe

// ---- training helpers (CPU twin: the training section of cpu_elementwise.cpp) --------------------
namespace moe {

using namespace cuda;

void CudaBackend::scale_add(Tensor& y, const Tensor& x, float a) {
    require_shape(x, y.rows(), y.cols(), "scale_add x");
    MOE_CUDA_CHECK(kernels::scale_add_f32(f32(y), f32(x), a, y.numel(), ctx_->stream()));
}

void CudaBackend::scale_inplace(Tensor& x, float a) {
    MOE_CUDA_CHECK(kernels::scale_f32(f32(x), a, x.numel(), ctx_->stream()));
}

void CudaBackend::zero(Tensor& x) {
    void* p = x.dtype() == DType::I32 ? static_cast<void*>(i32(x)) : static_cast<void*>(f32(x));
    if (x.numel() > 0) MOE_CUDA_CHECK(cudaMemsetAsync(p, 0, size_t(x.numel()) * 4, ctx_->stream()));
}

// The indices live on the device: they are checked there (an out-of-range one is reported at the
// next synchronize(), see DeviceContext::bad_index_flag), so these ops never wait for the GPU.
Tensor CudaBackend::gather_rows(const Tensor& x, const Tensor& idx) {
    require_shape(idx, idx.rows(), 1, "gather_rows idx");
    const int64_t n = idx.rows(), C = x.cols();
    Tensor out = make(n, C);
    MOE_CUDA_CHECK(kernels::gather_rows_f32(f32(x), x.rows(), C, i32(idx), n, f32(out), ctx_->bad_index_flag(),
                                            int(DeviceContext::BadIndex::GatherRows), ctx_->stream()));
    return out;
}

void CudaBackend::scatter_add_rows(const Tensor& src, const Tensor& idx, Tensor& dst) {
    require_shape(idx, src.rows(), 1, "scatter_add_rows idx");
    if (src.cols() != dst.cols()) throw_invalid_argument("scatter_add_rows: column counts differ");
    MOE_CUDA_CHECK(kernels::scatter_add_rows_f32(f32(src), src.rows(), src.cols(), i32(idx), f32(dst), dst.rows(),
                                                 ctx_->bad_index_flag(), int(DeviceContext::BadIndex::ScatterAddRows),
                                                 ctx_->stream()));
}

Tensor CudaBackend::dropout(const Tensor& x, float p, uint64_t seed) {
    if (p < 0.0f || p >= 1.0f) throw_invalid_argument("dropout: rate must be in [0, 1)");
    Tensor out = make(x.rows(), x.cols());
    MOE_CUDA_CHECK(kernels::dropout_f32(f32(x), x.numel(), p, seed, f32(out), ctx_->stream()));
    return out;
}

}  // namespace moe
