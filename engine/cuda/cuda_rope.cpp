// CUDA: rotary position embedding in place, at consecutive positions or (training) a position per
// row and its inverse rotation (kernels/rope.cu; CPU twin cpu_rope.cpp).
#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "rope.h"

namespace moe {

using namespace cuda;

void CudaBackend::rope(Tensor& x, const RopeTable& table, const RopeSpan& span, int64_t start_pos) {
    const int64_t dim = table.dim();
    if (x.cols() != span.n_heads * span.head_stride || span.offset < 0 || span.offset + dim > span.head_stride)
        throw_invalid_argument("rope: span does not fit the tensor");
    kernels::RopeArgs a;
    a.x = f32(x);
    a.T = x.rows();
    a.n_heads = span.n_heads;
    a.head_stride = span.head_stride;
    a.offset = span.offset;
    a.inv_freq = inv_freq_on_device(table);
    a.dim = dim;
    a.attention_factor = table.attention_factor;
    a.interleaved = table.layout == RopeLayout::Interleaved;
    a.start_pos = start_pos;
    a.dev_pos = dev_pos_;
    MOE_CUDA_CHECK(kernels::rope_f32(a, ctx_->stream()));
}

void CudaBackend::rope_rows(Tensor& x, const RopeTable& table, const RopeSpan& span, const Tensor& positions,
                            bool inverse) {
    const int64_t dim = table.dim();
    if (x.cols() != span.n_heads * span.head_stride || span.offset < 0 || span.offset + dim > span.head_stride)
        throw_invalid_argument("rope_rows: span does not fit the tensor");
    require_shape(positions, x.rows(), 1, "rope_rows positions");
    kernels::RopeArgs a;
    a.x = f32(x);
    a.T = x.rows();
    a.n_heads = span.n_heads;
    a.head_stride = span.head_stride;
    a.offset = span.offset;
    a.inv_freq = inv_freq_on_device(table);
    a.dim = dim;
    a.attention_factor = table.attention_factor;
    a.interleaved = table.layout == RopeLayout::Interleaved;
    a.positions = i32(positions);
    a.inverse = inverse;
    MOE_CUDA_CHECK(kernels::rope_f32(a, ctx_->stream()));
}

}  // namespace moe
