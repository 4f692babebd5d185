// y = x · Wᵀ (+ b) for bf16 weights W [out, in] and f32 activations (CPU twin: engine/cpu/cpu_linear.cpp).
// The bandwidth-bound path for few tokens (decode) lives here; many tokens go through cuBLAS
// (engine/cuda/cuda_linear.cpp), after elementwise.h converts x to bf16.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// Any T: tokens are processed in chunks of up to 8 per block (each chunk re-reads W, from L2 when
// it fits). Meant for T <= 8 (each weight byte read once) and for small matrices such as the
// router gate, where f32 activations keep the logits exact up to summation order.
// x [T, in] f32, W [out, in] bf16, bias [out] or nullptr, y [T, out] f32.
cudaError_t gemv_bf16(const float* x, int64_t T, int64_t in, const uint16_t* W, int64_t out, const float* bias,
                      float* y, cudaStream_t stream);

// Several projections of the same x in one launch (q | kv_a, q | k | v): segment i computes
// y_i [T, out_i] = x · W_iᵀ (+ bias_i), all W_i [out_i, in].
constexpr int kMaxGemvSegments = 4;
struct GemvSegment {
    const uint16_t* W = nullptr;
    int64_t out = 0;
    const float* bias = nullptr;  // [out] or nullptr
    float* y = nullptr;
};
struct GemvSegments {
    GemvSegment s[kMaxGemvSegments];
    int n = 0;
};
// True when gemv_multi_bf16 takes these: in % 8 == 0, 16-byte aligned x and weights, 1..4 segments.
bool gemv_multi_supported(const float* x, int64_t in, const GemvSegments& segs);
cudaError_t gemv_multi_bf16(const float* x, int64_t T, int64_t in, const GemvSegments& segs, cudaStream_t stream);

// y [T, out] += bias [out] broadcast over rows.
cudaError_t add_bias_rows(float* y, int64_t T, int64_t out, const float* bias, cudaStream_t stream);

// ---- training (CpuBackend::linear_backward_*; the GEMMs are cuBLAS, engine/cuda/cuda_linear.cpp) ----

// out [C] += Σ_t a[t, c] · (b ? b[t, c] : 1) · (row_scale ? row_scale[t] : 1) over a, b [T, C]: the
// bias gradient (a = dy) and RMSNorm's weight gradient (a = dy, b = x, row_scale = 1/rms).
// Deterministic: blocks of 32 columns by a fixed split of the rows write partial sums to
// `workspace` (column_sum_workspace floats), a second kernel adds them in order.
int64_t column_sum_workspace(int64_t T, int64_t C);
cudaError_t column_sum_into(const float* a, const float* b, const float* row_scale, int64_t T, int64_t C,
                            float* workspace, float* out, cudaStream_t stream);

}  // namespace moe::kernels
