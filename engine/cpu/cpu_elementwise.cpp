// CPU: add, slices and concatenation, and the training helpers (scaled add, row gather/scatter, dropout) (kernels/elementwise.cu, tests/model/elementwise_test.cpp).
#include <algorithm>

#include "core/error.h"
#include "counter_rng.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

void CpuBackend::add_inplace(Tensor& y, const Tensor& x) {
    require_shape(x, y.rows(), y.cols(), "add_inplace x");
    float* py = f32(y);
    const float* px = f32(x);
    for (int64_t i = 0; i < y.numel(); ++i) py[i] += px[i];
}

Tensor CpuBackend::slice_cols(const Tensor& x, int64_t col0, int64_t ncols) {
    if (col0 < 0 || ncols < 0 || col0 + ncols > x.cols()) throw_invalid_argument("slice_cols: range out of bounds");
    Tensor out = make_tensor(x.rows(), ncols);
    const float* src = f32(x);
    float* dst = f32(out);
    for (int64_t t = 0; t < x.rows(); ++t) std::copy_n(src + t * x.cols() + col0, ncols, dst + t * ncols);
    return out;
}

Tensor CpuBackend::slice_rows(const Tensor& x, int64_t row0, int64_t nrows) {
    if (row0 < 0 || nrows < 0 || row0 + nrows > x.rows()) throw_invalid_argument("slice_rows: range out of bounds");
    Tensor out = make_tensor(nrows, x.cols());
    std::copy_n(f32(x) + row0 * x.cols(), nrows * x.cols(), f32(out));
    return out;
}

Tensor CpuBackend::concat_rows(std::span<const Tensor> parts) {
    if (parts.empty()) throw_invalid_argument("concat_rows: no parts");
    int64_t rows = 0;
    for (const Tensor& p : parts) {
        if (p.cols() != parts[0].cols()) throw_invalid_argument("concat_rows: column counts differ");
        rows += p.rows();
    }
    Tensor out = make_tensor(rows, parts[0].cols());
    float* dst = f32(out);
    for (const Tensor& p : parts) dst = std::copy_n(f32(p), p.numel(), dst);
    return out;
}

Tensor CpuBackend::concat_cols(const Tensor& a, const Tensor& b) {
    if (a.rows() != b.rows()) throw_invalid_argument("concat_cols: row counts differ");
    const int64_t ca = a.cols(), cb = b.cols();
    Tensor out = make_tensor(a.rows(), ca + cb);
    const float* pa = f32(a);
    const float* pb = f32(b);
    float* po = f32(out);
    for (int64_t t = 0; t < a.rows(); ++t) {
        std::copy_n(pa + t * ca, ca, po + t * (ca + cb));
        std::copy_n(pb + t * cb, cb, po + t * (ca + cb) + ca);
    }
    return out;
}

}  // namespace moe

// ---- training helpers ---------------------------------------------------------------------------
namespace moe {

using namespace cpu;

void CpuBackend::scale_add(Tensor& y, const Tensor& x, float a) {
    require_shape(x, y.rows(), y.cols(), "scale_add x");
    float* py = f32(y);
    const float* px = f32(x);
    for (int64_t i = 0; i < y.numel(); ++i) py[i] += a * px[i];
}

void CpuBackend::scale_inplace(Tensor& x, float a) {
    float* p = f32(x);
    for (int64_t i = 0; i < x.numel(); ++i) p[i] *= a;
}

void CpuBackend::zero(Tensor& x) {
    if (x.dtype() == DType::I32)
        std::fill_n(i32(x), x.numel(), 0);
    else
        std::fill_n(f32(x), x.numel(), 0.0f);
}

Tensor CpuBackend::gather_rows(const Tensor& x, const Tensor& idx) {
    require_shape(idx, idx.rows(), 1, "gather_rows idx");
    const int64_t n = idx.rows(), C = x.cols();
    Tensor out = make_tensor(n, C);
    const int32_t* pi = i32(idx);
    for (int64_t i = 0; i < n; ++i) {
        if (pi[i] < 0 || pi[i] >= x.rows()) throw_invalid_argument("gather_rows: index out of range");
        std::copy_n(f32(x) + int64_t(pi[i]) * C, C, f32(out) + i * C);
    }
    return out;
}

void CpuBackend::scatter_add_rows(const Tensor& src, const Tensor& idx, Tensor& dst) {
    require_shape(idx, src.rows(), 1, "scatter_add_rows idx");
    if (src.cols() != dst.cols()) throw_invalid_argument("scatter_add_rows: column counts differ");
    const int64_t C = src.cols();
    const int32_t* pi = i32(idx);
    for (int64_t i = 0; i < src.rows(); ++i) {
        if (pi[i] < 0 || pi[i] >= dst.rows()) throw_invalid_argument("scatter_add_rows: index out of range");
        float* d = f32(dst) + int64_t(pi[i]) * C;
        const float* s = f32(src) + i * C;
        for (int64_t j = 0; j < C; ++j) d[j] += s[j];
    }
}

Tensor CpuBackend::dropout(const Tensor& x, float p, uint64_t seed) {
    if (p < 0.0f || p >= 1.0f) throw_invalid_argument("dropout: rate must be in [0, 1)");
    Tensor out = make_tensor(x.rows(), x.cols());
    const float* px = f32(x);
    float* po = f32(out);
    for (int64_t i = 0; i < x.numel(); ++i) po[i] = px[i] * rng::dropout_scale(seed, uint64_t(i), p);
    return out;
}

}  // namespace moe
