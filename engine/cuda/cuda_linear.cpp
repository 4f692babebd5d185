// CUDA: linear and embedding (kernels/linear.cu, kernels/embedding.cu; CPU twin cpu_linear.cpp).
//   T <= kGemvMaxTokens: the bandwidth-bound GEMV kernel (f32 x, bf16 W, each weight byte read once).
//   more tokens: x rounded to bf16, cuBLAS bf16 GEMM with f32 accumulation and f32 output.
#include <algorithm>
#include <memory>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "cuda/gemm.h"
#include "elementwise.h"
#include "embedding.h"
#include "linear.h"

namespace moe {

using namespace cuda;

namespace {
constexpr int64_t kGemvMaxTokens = 8;
}

void CudaBackend::gemm_bf16(const uint16_t* x, int64_t T, int64_t in, const uint16_t* w, int64_t out, void* y,
                            int64_t ldy, bool bf16_out) {
    // Row-major y [T, out] = x [T, in] · Wᵀ is column-major yᵀ [out, T] = W_cm [in, out]ᵀ · xᵀ [in, T].
    const float alpha = 1.0f, beta = 0.0f;
    MOE_CUBLAS_CHECK(cublasGemmEx(ctx_->cublas(), CUBLAS_OP_T, CUBLAS_OP_N, int(out), int(T), int(in), &alpha, w,
                                  CUDA_R_16BF, int(in), x, CUDA_R_16BF, int(in), &beta, y, bf16_out ? CUDA_R_16BF : CUDA_R_32F, int(ldy),
                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// y [T, out] = X Wᵀ (+ bias) from X, x already rounded to bf16 [T, in].
Tensor CudaBackend::linear_from_bf16(const uint16_t* X, int64_t T, int64_t in, const uint16_t* w, int64_t out,
                                     const float* bias) {
    Tensor y = make(T, out);
    gemm_bf16(X, T, in, w, out, f32(y), out);
    if (bias) MOE_CUDA_CHECK(kernels::add_bias_rows(f32(y), T, out, bias, ctx_->stream()));
    return y;
}

Tensor CudaBackend::linear_many(const Tensor& x, const uint16_t* w, int64_t out, const float* bias) {
    const auto xb = to_bf16(x, "bf16 activations for a GEMM");
    return linear_from_bf16(xb->as<uint16_t>(), x.rows(), x.cols(), w, out, bias);
}

// Many tokens, several projections of the same x (prefill's q | kv_a, q | k | v): x rounded to bf16
// once for all their GEMMs.
std::vector<Tensor> CudaBackend::linear_many_multi(const Tensor& x, std::span<const Weight* const> weights,
                                                   std::span<const Tensor* const> biases) {
    const int64_t T = x.rows(), in = x.cols();
    for (size_t i = 0; i < weights.size(); ++i) {
        if (weight_storage(*weights[i]).cols != in)
            throw_invalid_argument("linear_multi: x has " + std::to_string(in) + " columns, weight " + std::to_string(i) +
                                   " expects " + std::to_string(weight_storage(*weights[i]).cols));
        if (biases[i]) require_shape(*biases[i], 1, weight_storage(*weights[i]).rows, "linear_multi bias");
    }
    const auto xb = to_bf16(x, "bf16 activations for a GEMM");
    std::vector<Tensor> outs;
    for (size_t i = 0; i < weights.size(); ++i) {
        const CudaWeightStorage& ws = weight_storage(*weights[i]);
        outs.push_back(linear_from_bf16(xb->as<uint16_t>(), T, in, ws.bf16(), ws.rows, biases[i] ? f32(*biases[i]) : nullptr));
    }
    return outs;
}

Tensor CudaBackend::linear(const Tensor& x, const Weight& w, const Tensor* bias) {
    const CudaWeightStorage& ws = weight_storage(w);
    if (x.cols() != ws.cols)
        throw_invalid_argument("linear: x has " + std::to_string(x.cols()) + " columns, the weight expects " +
                               std::to_string(ws.cols));
    const float* b = nullptr;
    if (bias) {
        require_shape(*bias, 1, ws.rows, "linear bias");
        b = f32(*bias);
    }
    if (x.rows() > kGemvMaxTokens) return linear_many(x, ws.bf16(), ws.rows, b);
    Tensor y = make(x.rows(), ws.rows);
    MOE_CUDA_CHECK(kernels::gemv_bf16(f32(x), x.rows(), ws.cols, ws.bf16(), ws.rows, b, f32(y), ctx_->stream()));
    return y;
}

// Few tokens: every projection in one split-K GEMV launch (q | kv_a, q | k | v).
std::vector<Tensor> CudaBackend::linear_multi(const Tensor& x, std::span<const Weight* const> weights,
                                              std::span<const Tensor* const> biases) {
    if (biases.size() != weights.size()) throw_invalid_argument("linear_multi: one bias slot per weight");
    if (x.rows() > kGemvMaxTokens) return linear_many_multi(x, weights, biases);
    if (weights.size() > size_t(kernels::kMaxGemvSegments)) return Backend::linear_multi(x, weights, biases);
    std::vector<Tensor> outs;
    kernels::GemvSegments segs;
    for (size_t i = 0; i < weights.size(); ++i) {
        const CudaWeightStorage& ws = weight_storage(*weights[i]);
        if (x.cols() != ws.cols)
            throw_invalid_argument("linear_multi: x has " + std::to_string(x.cols()) + " columns, weight " +
                                   std::to_string(i) + " expects " + std::to_string(ws.cols));
        if (biases[i]) require_shape(*biases[i], 1, ws.rows, "linear_multi bias");
        outs.push_back(make(x.rows(), ws.rows));
        segs.s[i] = kernels::GemvSegment{ws.bf16(), ws.rows, biases[i] ? f32(*biases[i]) : nullptr, f32(outs.back())};
    }
    segs.n = int(weights.size());
    if (!kernels::gemv_multi_supported(f32(x), x.cols(), segs)) return Backend::linear_multi(x, weights, biases);
    MOE_CUDA_CHECK(kernels::gemv_multi_bf16(f32(x), x.rows(), x.cols(), segs, ctx_->stream()));
    return outs;
}

Tensor CudaBackend::embedding(const Weight& table, std::span<const int32_t> tokens) {
    const CudaWeightStorage& ws = weight_storage(table);
    const int64_t T = int64_t(tokens.size());
    Tensor out = make(T, ws.cols);
    if (dev_tokens_) {  // decode-graph mode: the ids are already on the device
        MOE_CUDA_CHECK(kernels::embedding_bf16(ws.bf16(), ws.rows, ws.cols, dev_tokens_, T, f32(out), ctx_->stream()));
        return out;
    }
    for (int32_t id : tokens)
        if (id < 0 || id >= ws.rows)
            throw Error("model.token_out_of_range", "",
                        "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(ws.rows) + ")");
    Scratch ids(*ctx_, tokens.size_bytes(), "token ids");
    ctx_->upload(ids.as<int32_t>(), tokens.data(), tokens.size_bytes());
    MOE_CUDA_CHECK(kernels::embedding_bf16(ws.bf16(), ws.rows, ws.cols, ids.as<int32_t>(), T, f32(out), ctx_->stream()));
    return out;
}

}  // namespace moe

// ---- training: the backward of linear and embedding (CPU twin: cpu_linear.cpp) -------------------
//   dx = dy · W (cuBLAS, bf16 dy and W, f32 out);  dW += dyᵀ x (cuBLAS, bf16 dy and x, f32 W gradient
//   accumulated in place, beta = 1);  db += Σ_t dy (column sums, f32);  dE[token_t] += dy_t (atomic adds);
//   linear_lora / linear_lora_backward: a LoRA'd linear as one op (the CPU composes the ops above).
namespace moe {

using namespace cuda;

std::unique_ptr<Scratch> CudaBackend::to_bf16(const Tensor& x, const char* what) {
    return bf16_copy(*ctx_, x, what);
}

Tensor CudaBackend::linear_backward_input(const Tensor& dy, const Weight& w) {
    const CudaWeightStorage& ws = weight_storage(w);
    if (dy.cols() != ws.rows) throw_invalid_argument("linear_backward_input: dy width does not match the weight");
    const int64_t T = dy.rows(), out = ws.rows, in = ws.cols;
    Tensor dx = make(T, in);
    if (T == 0 || in == 0) return dx;
    if (out == 0) {
        zero(dx);
        return dx;
    }
    const auto dyb = to_bf16(dy, "bf16 output gradient");
    // Row-major dx [T, in] = dy [T, out] · W [out, in]: column-major dxᶜ = Wᶜ · dyᶜ.
    cuda::gemm_bf16(ctx_->cublas(), CUBLAS_OP_N, CUBLAS_OP_N, in, T, out, 1.0f, ws.bf16(), in, dyb->as<uint16_t>(), out, 0.0f,
              f32(dx), CUDA_R_32F, in);
    return dx;
}

void CudaBackend::linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw) {
    const int64_t T = dy.rows(), out = dy.cols(), in = x.cols();
    require_shape(x, T, in, "linear_backward_weight x");
    require_shape(dw, out, in, "linear_backward_weight dw");
    if (T == 0 || out == 0 || in == 0) return;
    const auto dyb = to_bf16(dy, "bf16 output gradient");
    const auto xb = to_bf16(x, "bf16 linear input");
    // Row-major dW [out, in] += dyᵀ [out, T] · x [T, in]: column-major dWᶜ += xᶜ · dyᶜᵀ.
    cuda::gemm_bf16(ctx_->cublas(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, T, 1.0f, xb->as<uint16_t>(), in, dyb->as<uint16_t>(),
              out, 1.0f, f32(dw), CUDA_R_32F, in);
}

namespace {
// W [out, in], A [r, in] and B [out, r] of one LoRA'd linear over x of `in` columns.
struct LoraShapes {
    int64_t in, out, r;
};
LoraShapes lora_shapes(const CudaWeightStorage& ws, const CudaWeightStorage& as, const CudaWeightStorage& bs,
                       int64_t x_cols, const char* op) {
    const int64_t in = ws.cols, out = ws.rows, r = as.rows;
    if (x_cols != in || as.cols != in || bs.rows != out || bs.cols != r)
        throw_invalid_argument(std::string(op) + ": x, W [out, in], A [r, in] and B [out, r] do not fit together");
    return {in, out, r};
}
}  // namespace

// y = x Wᵀ (+ bias) + scale · (x Aᵀ) Bᵀ from X, x [T, in] already in bf16: z = x Aᵀ written in
// bf16 (what the next GEMM reads anyway), the adapter's product accumulated into y (beta = 1).
Tensor CudaBackend::lora_forward_bf16(const uint16_t* X, int64_t T, const Weight& w, const Tensor* bias, const Weight& a,
                                      const Weight& b, float scale) {
    const CudaWeightStorage &ws = weight_storage(w), &as = weight_storage(a), &bs = weight_storage(b);
    const LoraShapes sh = lora_shapes(ws, as, bs, ws.cols, "linear_lora");
    if (bias) require_shape(*bias, 1, sh.out, "linear_lora bias");
    Tensor y = linear_from_bf16(X, T, sh.in, ws.bf16(), sh.out, bias ? f32(*bias) : nullptr);
    if (sh.r == 0 || T == 0) return y;  // no adapter product (cuBLAS refuses a zero ld)
    Scratch zb(*ctx_, size_t(std::max<int64_t>(T * sh.r, 1)) * 2, "bf16 LoRA rank products");
    gemm_bf16(X, T, sh.in, as.bf16(), sh.r, zb.as<uint16_t>(), sh.r, true);
    // Row-major y [T, out] += s · z [T, r] · Bᵀ: column-major yᶜ += s · Bᶜᵀ · zᶜ (as gemm_bf16 maps it).
    cuda::gemm_bf16(ctx_->cublas(), CUBLAS_OP_T, CUBLAS_OP_N, sh.out, T, sh.r, scale, bs.bf16(), sh.r, zb.as<uint16_t>(),
                    sh.r, 1.0f, f32(y), CUDA_R_32F, sh.out);
    return y;
}

Tensor CudaBackend::linear_lora(const Tensor& x, const Weight& w, const Tensor* bias, const Weight& a, const Weight& b,
                                float scale) {
    if (x.rows() <= kGemvMaxTokens) return Backend::linear_lora(x, w, bias, a, b, scale);
    lora_shapes(weight_storage(w), weight_storage(a), weight_storage(b), x.cols(), "linear_lora");
    const auto xb = to_bf16(x, "bf16 activations for a GEMM");
    return lora_forward_bf16(xb->as<uint16_t>(), x.rows(), w, bias, a, b, scale);
}

std::vector<Tensor> CudaBackend::linear_lora_group(const Tensor& x, std::span<const LoraLinear> ps) {
    if (x.rows() <= kGemvMaxTokens) return Backend::linear_lora_group(x, ps);
    for (const LoraLinear& p : ps)
        lora_shapes(weight_storage(*p.w), weight_storage(*p.a), weight_storage(*p.b), x.cols(), "linear_lora_group");
    const auto xb = to_bf16(x, "bf16 activations for a GEMM");
    std::vector<Tensor> ys;
    for (const LoraLinear& p : ps) ys.push_back(lora_forward_bf16(xb->as<uint16_t>(), x.rows(), *p.w, nullptr, *p.a, *p.b, p.scale));
    return ys;
}

// dx (+)= dy W + dz A, dW += dyᵀ x, dB += s · dyᵀ z, dA += dzᵀ x with z = x Aᵀ and dz = s · dy B,
// from X (x [T, in] in bf16): dy rounded to bf16 once, z and dz made in bf16; dx written
// (dx_beta 0) or accumulated (1) by the GEMMs themselves.
void CudaBackend::lora_backward_bf16(const uint16_t* X, int64_t T, const LoraLinear& p, Tensor& dx, float dx_beta) {
    const CudaWeightStorage &ws = weight_storage(*p.w), &as = weight_storage(*p.a), &bs = weight_storage(*p.b);
    const LoraShapes sh = lora_shapes(ws, as, bs, ws.cols, "linear_lora_backward");
    const int64_t in = sh.in, out = sh.out, r = sh.r;
    cublasHandle_t h = ctx_->cublas();
    const auto dyb = to_bf16(*p.dy, "bf16 output gradient");
    Scratch zb(*ctx_, size_t(T * r) * 2, "bf16 LoRA rank products"), dzb(*ctx_, size_t(T * r) * 2, "bf16 LoRA rank gradients");
    const uint16_t* dY = dyb->as<uint16_t>();
    // dx [T, in] (+)= dy · W: column-major dxᶜ = Wᶜ · dyᶜ.
    cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_N, in, T, out, 1.0f, ws.bf16(), in, dY, out, dx_beta, f32(dx), CUDA_R_32F, in);
    // dW [out, in] += dyᵀ · x: column-major dWᶜ += xᶜ · dyᶜᵀ.
    if (p.dw) cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_T, in, out, T, 1.0f, X, in, dY, out, 1.0f, f32(*p.dw), CUDA_R_32F, in);
    // z [T, r] = x · Aᵀ (bf16): column-major zᶜ = Aᶜᵀ · xᶜ.
    cuda::gemm_bf16(h, CUBLAS_OP_T, CUBLAS_OP_N, r, T, in, 1.0f, as.bf16(), in, X, in, 0.0f, zb.as<void>(), CUDA_R_16BF, r);
    // dB [out, r] += s · dyᵀ · z: column-major dBᶜ [r, out] += s · zᶜ · dyᶜᵀ.
    cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_T, r, out, T, p.scale, zb.as<uint16_t>(), r, dY, out, 1.0f, f32(*p.db),
                    CUDA_R_32F, r);
    // dz [T, r] = s · dy · B (bf16): column-major dzᶜ = s · Bᶜ · dyᶜ.
    cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_N, r, T, out, p.scale, bs.bf16(), r, dY, out, 0.0f, dzb.as<void>(),
                    CUDA_R_16BF, r);
    // dA [r, in] += dzᵀ · x: column-major dAᶜ [in, r] += xᶜ · dzᶜᵀ.
    cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_T, in, r, T, 1.0f, X, in, dzb.as<uint16_t>(), r, 1.0f, f32(*p.da), CUDA_R_32F,
                    in);
    // dx += dz · A: column-major dxᶜ += Aᶜ · dzᶜ.
    cuda::gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_N, in, T, r, 1.0f, as.bf16(), in, dzb.as<uint16_t>(), r, 1.0f, f32(dx),
                    CUDA_R_32F, in);
}

namespace {
// The shapes linear_lora_backward and its group check before any GEMM runs.
void check_lora_grads(const LoraLinear& p, const CudaWeightStorage& ws, const CudaWeightStorage& as, int64_t T,
                      const char* op) {
    if (!p.dy || !p.da || !p.db) throw_invalid_argument(std::string(op) + ": a projection without dy, da or db");
    require_shape(*p.dy, T, ws.rows, (std::string(op) + " dy").c_str());
    require_shape(*p.da, as.rows, ws.cols, (std::string(op) + " da").c_str());
    require_shape(*p.db, ws.rows, as.rows, (std::string(op) + " db").c_str());
    if (p.dw) require_shape(*p.dw, ws.rows, ws.cols, (std::string(op) + " dw").c_str());
}
}  // namespace

Tensor CudaBackend::linear_lora_backward(const Tensor& x, const Weight& w, const Weight& a, const Weight& b,
                                         float scale, const Tensor& dy, Tensor* dw, Tensor& da, Tensor& db) {
    const LoraLinear p{&w, &a, &b, scale, &dy, dw, &da, &db};
    return linear_lora_group_backward(x, std::span<const LoraLinear>(&p, 1));
}

Tensor CudaBackend::linear_lora_group_backward(const Tensor& x, std::span<const LoraLinear> ps) {
    if (ps.empty()) throw_invalid_argument("linear_lora_group_backward: no projection");
    const int64_t T = x.rows(), in = x.cols();
    for (const LoraLinear& p : ps) {
        const CudaWeightStorage &ws = weight_storage(*p.w), &as = weight_storage(*p.a);
        lora_shapes(ws, as, weight_storage(*p.b), in, "linear_lora_backward");
        check_lora_grads(p, ws, as, T, "linear_lora_backward");
    }
    Tensor dx = make(T, in);
    if (T == 0 || in == 0) return dx;
    std::unique_ptr<Scratch> xb;
    bool written = false;  // the first term writes dx, the others add to it
    for (const LoraLinear& p : ps) {
        if (weight_storage(*p.w).rows == 0 || weight_storage(*p.a).rows == 0) {  // no outputs or rank 0: composed
            if (!written) zero(dx);
            add_inplace(dx, Backend::linear_lora_backward(x, *p.w, *p.a, *p.b, p.scale, *p.dy, p.dw, *p.da, *p.db));
        } else {
            if (!xb) xb = to_bf16(x, "bf16 linear input");
            lora_backward_bf16(xb->as<uint16_t>(), T, p, dx, written ? 1.0f : 0.0f);
        }
        written = true;
    }
    return dx;
}

void CudaBackend::sum_rows_into(const Tensor& dy, Tensor& db) {
    require_shape(db, 1, dy.cols(), "sum_rows_into db");
    Scratch ws(*ctx_, size_t(std::max<int64_t>(kernels::column_sum_workspace(dy.rows(), dy.cols()), 1)) * 4,
               "column-sum partials");
    MOE_CUDA_CHECK(kernels::column_sum_into(f32(dy), nullptr, nullptr, dy.rows(), dy.cols(), ws.as<float>(), f32(db),
                                            ctx_->stream()));
}

void CudaBackend::embedding_backward(const Tensor& dy, std::span<const int32_t> tokens, Tensor& dtable) {
    const int64_t T = int64_t(tokens.size()), H = dtable.cols();
    require_shape(dy, T, H, "embedding_backward dy");
    for (int32_t id : tokens)
        if (id < 0 || id >= dtable.rows()) throw_invalid_argument("embedding_backward: token id out of range");
    if (T == 0) return;
    Scratch ids(*ctx_, tokens.size_bytes(), "token ids");
    ctx_->upload(ids.as<int32_t>(), tokens.data(), tokens.size_bytes());
    MOE_CUDA_CHECK(kernels::embedding_backward_f32(f32(dy), ids.as<int32_t>(), T, H, f32(dtable), ctx_->stream()));
}

}  // namespace moe
