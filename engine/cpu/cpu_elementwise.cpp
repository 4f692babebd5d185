// CPU: add, slices and concatenation (kernels/elementwise.cu, tests/model/elementwise_test.cpp).
#include <algorithm>

#include "core/error.h"
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
