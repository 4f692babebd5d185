#include "cuda/cuda_storage.h"

#include <algorithm>
#include <string>

#include "elementwise.h"

namespace moe::cuda {

CudaTensorStorage::CudaTensorStorage(std::shared_ptr<DeviceContext> context, size_t payload_bytes, const char* what)
    : ctx(std::move(context)), bytes(payload_bytes) {
    const size_t guard = ctx->debug() ? DeviceContext::kGuardBytes : 0;
    raw = ctx->alloc(payload_bytes + 2 * guard, what);
    data = static_cast<unsigned char*>(raw) + guard;
    if (guard) {
        try {
            ctx->register_guarded(raw, payload_bytes);
        } catch (...) {
            ctx->free(raw);
            throw;
        }
    }
}

CudaTensorStorage::~CudaTensorStorage() {
    if (ctx->debug()) ctx->unregister_guarded(raw, bytes);
    ctx->free(raw);
}

Tensor make_tensor(const std::shared_ptr<DeviceContext>& ctx, int64_t rows, int64_t cols, DType dtype, Init init) {
    if (rows < 0 || cols < 0) throw_invalid_argument("negative tensor shape");
    if (dtype != DType::F32 && dtype != DType::I32) throw_invalid_argument("CUDA tensors are F32 or I32");
    const size_t bytes = size_t(rows * cols) * 4;
    auto s = std::make_shared<CudaTensorStorage>(ctx, bytes, "an activation tensor");
    if (init == Init::Zero)
        MOE_CUDA_CHECK(cudaMemsetAsync(s->data, 0, bytes, ctx->stream()));
    else if (ctx->debug())
        MOE_CUDA_CHECK(cudaMemsetAsync(s->data, 0xff, bytes, ctx->stream()));  // f32 NaN, i32 -1
    return Tensor(std::move(s), rows, cols, dtype);
}

namespace {
CudaTensorStorage& storage_of(const Tensor& t, DType want) {
    auto* s = dynamic_cast<CudaTensorStorage*>(t.storage());
    if (!s) throw_invalid_argument("tensor does not belong to the CUDA backend");
    if (t.dtype() != want) throw_invalid_argument(std::string("tensor has dtype ") + std::string(dtype_name(t.dtype())));
    return *s;
}
}  // namespace

std::unique_ptr<Scratch> bf16_copy(DeviceContext& ctx, const Tensor& x, const char* what) {
    auto out = std::make_unique<Scratch>(ctx, size_t(std::max<int64_t>(x.numel(), 1)) * 2, what);
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(x), x.cols(), x.rows(), x.cols(), out->as<uint16_t>(), x.cols(),
                                           ctx.stream()));
    return out;
}

float* f32(Tensor& t) { return static_cast<float*>(storage_of(t, DType::F32).data); }
const float* f32(const Tensor& t) { return static_cast<const float*>(storage_of(t, DType::F32).data); }
int32_t* i32(Tensor& t) { return static_cast<int32_t*>(storage_of(t, DType::I32).data); }
const int32_t* i32(const Tensor& t) { return static_cast<const int32_t*>(storage_of(t, DType::I32).data); }

const CudaWeightStorage& weight_storage(const Weight& w) {
    auto* s = dynamic_cast<const CudaWeightStorage*>(w.storage());
    if (!s) throw_invalid_argument("weight does not belong to the CUDA backend");
    return *s;
}

const CudaExpertSetStorage& expert_storage(const ExpertSet& set) {
    auto* s = dynamic_cast<const CudaExpertSetStorage*>(set.storage.get());
    if (!s) throw_invalid_argument("expert set does not belong to the CUDA backend");
    return *s;
}


}  // namespace moe::cuda
