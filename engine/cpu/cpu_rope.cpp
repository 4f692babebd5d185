// CPU: rotary position embedding, interleaved (DeepSeek) or NeoX halves (Qwen2)
// (kernels/rope.cu, tests/model/rope_test.cpp).
//
// Pair i rotates by theta = pos * inv_freq[i] (fp32, as HF); cos/sin are scaled by the table's
// attention_factor (YaRN's mscale ratio, 1 for released configs):
//   y_a = x_a cos - x_b sin,   y_b = x_b cos + x_a sin
// with (a, b) = (2i, 2i+1) interleaved, (i, i + dim/2) NeoX. rope_rows takes a position per row
// (packed training samples restart at 0); its inverse rotates by −θ, which is the backward of the
// rotation (orthogonal, times attention_factor, so the same factor scales the gradient).
#include <cmath>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

void CpuBackend::rope(Tensor& x, const RopeTable& table, const RopeSpan& span, int64_t start_pos) {
    const int64_t dim = table.dim(), half = dim / 2;
    if (x.cols() != span.n_heads * span.head_stride || span.offset < 0 || span.offset + dim > span.head_stride)
        throw_invalid_argument("rope: span does not fit the tensor");
    float* px = f32(x);
    const bool interleaved = table.layout == RopeLayout::Interleaved;
#pragma omp parallel for if (x.rows() * x.cols() * 8 >= kMinParallelWork)
    for (int64_t t = 0; t < x.rows(); ++t) {
        const float pos = float(start_pos + t);
        for (int64_t i = 0; i < half; ++i) {
            const float angle = pos * table.inv_freq[size_t(i)];
            const float c = std::cos(angle) * table.attention_factor;
            const float s = std::sin(angle) * table.attention_factor;
            const int64_t a = interleaved ? 2 * i : i;
            const int64_t b = interleaved ? 2 * i + 1 : i + half;
            for (int64_t h = 0; h < span.n_heads; ++h) {
                float* v = px + t * x.cols() + h * span.head_stride + span.offset;
                const float xa = v[a], xb = v[b];
                v[a] = xa * c - xb * s;
                v[b] = xb * c + xa * s;
            }
        }
    }
}

void CpuBackend::rope_rows(Tensor& x, const RopeTable& table, const RopeSpan& span, const Tensor& positions,
                           bool inverse) {
    const int64_t dim = table.dim(), half = dim / 2;
    if (x.cols() != span.n_heads * span.head_stride || span.offset < 0 || span.offset + dim > span.head_stride)
        throw_invalid_argument("rope_rows: span does not fit the tensor");
    require_shape(positions, x.rows(), 1, "rope_rows positions");
    float* px = f32(x);
    const int32_t* pos = i32(positions);
    const bool interleaved = table.layout == RopeLayout::Interleaved;
    const float sign = inverse ? -1.0f : 1.0f;
#pragma omp parallel for if (x.rows() * x.cols() * 8 >= kMinParallelWork)
    for (int64_t t = 0; t < x.rows(); ++t) {
        for (int64_t i = 0; i < half; ++i) {
            const float angle = float(pos[t]) * table.inv_freq[size_t(i)];  // as rope(): fp32 pos * inv_freq
            const float c = std::cos(angle) * table.attention_factor;
            const float s = sign * std::sin(angle) * table.attention_factor;
            const int64_t a = interleaved ? 2 * i : i;
            const int64_t b = interleaved ? 2 * i + 1 : i + half;
            for (int64_t h = 0; h < span.n_heads; ++h) {
                float* v = px + t * x.cols() + h * span.head_stride + span.offset;
                const float xa = v[a], xb = v[b];
                v[a] = xa * c - xb * s;
                v[b] = xb * c + xa * s;
            }
        }
    }
}

}  // namespace moe
