// CPU: linear (x · Wᵀ + b) and embedding lookup, and their backward (kernels/linear.cu,
// tests/model/linear_test.cpp, tests/train/op_grad_test.cpp):
//   dx = dy · W        dW += dyᵀ · x        db += Σ_t dy        dE[token_t] += dy_t
#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

namespace cpu {

void matmul_wt(const float* x, int64_t T, const CpuWeightStorage& w, float* y) {
    // Blocks of W's rows: converted to f32 once (from bf16/f16/fp8 in the mmapped checkpoint) and
    // reused for all T tokens, so the weights are streamed once per call whatever T is.
    constexpr int64_t kBlockRows = 16;
    const int64_t out = w.rows, in = w.cols;
    const int64_t n_blocks = (out + kBlockRows - 1) / kBlockRows;
#pragma omp parallel if (T * out * in >= kMinParallelWork)
    {
        // Only a converted matrix needs it (zero-filling 16 rows at every call showed in decode's profile).
        std::vector<float> scratch(w.converts() ? size_t(kBlockRows * in) : 0);
#pragma omp for schedule(dynamic, 4)
        for (int64_t b = 0; b < n_blocks; ++b) {
            const int64_t row0 = b * kBlockRows;
            const int64_t count = std::min(kBlockRows, out - row0);
            const float* rows = w.rows_f32(row0, count, scratch.data());
            for (int64_t t = 0; t < T; ++t) dot_rows(x + t * in, rows, in, count, in, y + t * out + row0);
        }
    }
}

}  // namespace cpu

using namespace cpu;

Tensor CpuBackend::linear(const Tensor& x, const Weight& w, const Tensor* bias) {
    const CpuWeightStorage& ws = weight_storage(w);
    if (x.cols() != ws.cols)
        throw_invalid_argument("linear: x has " + std::to_string(x.cols()) + " columns, the weight expects " +
                               std::to_string(ws.cols));
    Tensor y = make_tensor(x.rows(), ws.rows);
    matmul_wt(f32(x), x.rows(), ws, f32(y));
    if (bias) {
        require_shape(*bias, 1, ws.rows, "linear bias");
        const float* b = f32(*bias);
        float* py = f32(y);
        for (int64_t t = 0; t < x.rows(); ++t)
            for (int64_t o = 0; o < ws.rows; ++o) py[t * ws.rows + o] += b[o];
    }
    return y;
}

Tensor CpuBackend::embedding(const Weight& table, std::span<const int32_t> tokens) {
    const CpuWeightStorage& ws = weight_storage(table);
    const int64_t T = int64_t(tokens.size());
    Tensor out = make_tensor(T, ws.cols);
    float* po = f32(out);
    for (int64_t t = 0; t < T; ++t) {
        const int32_t id = tokens[size_t(t)];
        if (id < 0 || id >= ws.rows)
            throw Error(
                "model.token_out_of_range", "",
                "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(ws.rows) + ")");
        const float* row = ws.rows_f32(id, 1, po + t * ws.cols);
        if (row != po + t * ws.cols) std::copy_n(row, ws.cols, po + t * ws.cols);
    }
    return out;
}

Tensor CpuBackend::linear_backward_input(const Tensor& dy, const Weight& w) {
    const CpuWeightStorage& ws = weight_storage(w);
    if (dy.cols() != ws.rows) throw_invalid_argument("linear_backward_input: dy width does not match the weight");
    const int64_t T = dy.rows(), out = ws.rows, in = ws.cols;
    Tensor dx = make_tensor(T, in);
    const float* pdy = f32(dy);
    float* pdx = f32(dx);
    // Blocks of W's rows converted once per thread; each thread owns a range of dx rows (no races).
    constexpr int64_t kBlockRows = 16;
#pragma omp parallel if (T * out * in >= kMinParallelWork)
    {
        std::vector<float> scratch(size_t(kBlockRows * in));
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t row0 = 0; row0 < out; row0 += kBlockRows) {
                const int64_t count = std::min(kBlockRows, out - row0);
                const float* rows = ws.rows_f32(row0, count, scratch.data());
                for (int64_t r = 0; r < count; ++r) {
                    const float g = pdy[t * out + row0 + r];
                    if (g == 0.0f) continue;
                    const float* wr = rows + r * in;
                    float* d = pdx + t * in;
#pragma omp simd
                    for (int64_t i = 0; i < in; ++i) d[i] += g * wr[i];
                }
            }
        }
    }
    return dx;
}

void CpuBackend::linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw) {
    const int64_t T = dy.rows(), out = dy.cols(), in = x.cols();
    require_shape(x, T, in, "linear_backward_weight x");
    require_shape(dw, out, in, "linear_backward_weight dw");
    const float* pdy = f32(dy);
    const float* px = f32(x);
    float* pdw = f32(dw);
#pragma omp parallel for schedule(static) if (T * out * in >= kMinParallelWork)
    for (int64_t o = 0; o < out; ++o) {
        float* d = pdw + o * in;
        for (int64_t t = 0; t < T; ++t) {
            const float g = pdy[t * out + o];
            if (g == 0.0f) continue;
            const float* xr = px + t * in;
#pragma omp simd
            for (int64_t i = 0; i < in; ++i) d[i] += g * xr[i];
        }
    }
}

void CpuBackend::sum_rows_into(const Tensor& dy, Tensor& db) {
    require_shape(db, 1, dy.cols(), "sum_rows_into db");
    const float* pdy = f32(dy);
    float* pdb = f32(db);
    for (int64_t t = 0; t < dy.rows(); ++t)
        for (int64_t o = 0; o < dy.cols(); ++o) pdb[o] += pdy[t * dy.cols() + o];
}

void CpuBackend::embedding_backward(const Tensor& dy, std::span<const int32_t> tokens, Tensor& dtable) {
    const int64_t T = int64_t(tokens.size()), H = dtable.cols();
    require_shape(dy, T, H, "embedding_backward dy");
    const float* pdy = f32(dy);
    float* pd = f32(dtable);
    for (int64_t t = 0; t < T; ++t) {
        const int32_t id = tokens[size_t(t)];
        if (id < 0 || id >= dtable.rows()) throw_invalid_argument("embedding_backward: token id out of range");
        float* row = pd + int64_t(id) * H;
        for (int64_t j = 0; j < H; ++j) row[j] += pdy[t * H + j];
    }
}

}  // namespace moe
