// What the CUDA backend keeps behind Tensor / Weight / ExpertSet handles, and the typed accessors
// its op files share (internal to engine/cuda/).
//   Tensor:    f32 or i32 device memory from the context's stream-ordered pool.
//   Weight:    bf16 [rows, cols] device memory (fp8 / f16 / f32 checkpoints converted at load;
//              training: a copy of an F32 master tensor, re-converted by refresh_weight).
//   ExpertSet: every expert of a layer stacked: gate_up [E, 2 inter, hidden] (gate rows, then up
//              rows) and down [E, hidden, inter], so a kernel finds expert e at a fixed stride;
//              bf16, or for an fp8 checkpoint the stored e4m3 bytes with their f32 block scales
//              (cuda_fp8_experts.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "cuda/cuda_context.h"
#include "model/backend.h"
#include "model/shape_checks.h"
#include "model/tensor.h"

namespace moe::cuda {

struct CudaTensorStorage final : TensorStorage {
    CudaTensorStorage(std::shared_ptr<DeviceContext> context, size_t payload_bytes, const char* what);
    ~CudaTensorStorage() override;
    std::shared_ptr<DeviceContext> ctx;
    void* raw = nullptr;    // what the pool gave (guards included in debug mode)
    void* data = nullptr;   // the payload
    size_t bytes = 0;
};

// The bytes of weights a backend holds on the device; weights keep a reference and subtract
// their size when freed, whichever outlives the other.
struct WeightBytes {
    std::atomic<int64_t> n{0};
};

struct CudaWeightStorage final : WeightStorage {
    ~CudaWeightStorage() override {
        if (counter) counter->n -= int64_t(data.bytes());
    }
    std::shared_ptr<WeightBytes> counter;
    DeviceBuffer data;      // bf16 [rows, cols]
    int64_t rows = 0, cols = 0;
    // Router gates only: cumulative expert hits [rows] (u64), made by the first route() through this gate.
    mutable DeviceBuffer load_counts;
    // Training: the F32 master this bf16 copy was made from (identity only, for refresh_weight's check).
    const TensorStorage* master = nullptr;
    const uint16_t* bf16() const { return data.as<const uint16_t>(); }
};

struct CudaExpertSetStorage final : ExpertSetStorage {
    ~CudaExpertSetStorage() override {
        if (counter) counter->n -= int64_t(device_bytes());
    }
    size_t device_bytes() const {
        return gate_up.bytes() + down.bytes() + gate_up_scale.bytes() + down_scale.bytes() + bf16_gate_up.bytes() +
               bf16_down.bytes();
    }
    std::shared_ptr<WeightBytes> counter;
    DeviceBuffer gate_up;   // [E, 2 inter, hidden] bf16 (fp8: e4m3 bytes)
    DeviceBuffer down;      // [E, hidden, inter] bf16 (fp8: e4m3 bytes)
    int64_t n_experts = 0, hidden = 0, inter = 0;
    // fp8 experts (block_rows > 0): f32 scales [E, 2, ⌈inter/br⌉, ⌈hidden/bc⌉] (each expert's gate
    // grid, then its up grid) and [E, ⌈hidden/br⌉, ⌈inter/bc⌉].
    DeviceBuffer gate_up_scale, down_scale;
    int64_t block_rows = 0, block_cols = 0;
    bool fp8() const { return block_rows > 0; }
    // fp8 experts only: the bf16 copy the training kernels read, made on first use (fp8_experts.h).
    mutable DeviceBuffer bf16_gate_up, bf16_down;
    // Training: the F32 gate master the set was made from (identity only, for refresh_expert_set's check).
    const TensorStorage* master_gate = nullptr;
};

enum class Init { Zero, Poison };  // Poison: NaN bytes in debug mode (unwritten outputs show), nothing otherwise

Tensor make_tensor(const std::shared_ptr<DeviceContext>& ctx, int64_t rows, int64_t cols, DType dtype, Init init);
float* f32(Tensor& t);
const float* f32(const Tensor& t);
int32_t* i32(Tensor& t);
const int32_t* i32(const Tensor& t);
// A bf16 copy of an f32 tensor x [rows, cols] in stream-ordered scratch (GEMM and attention operands).
std::unique_ptr<Scratch> bf16_copy(DeviceContext& ctx, const Tensor& x, const char* what);
const CudaWeightStorage& weight_storage(const Weight& w);
const CudaExpertSetStorage& expert_storage(const ExpertSet& s);
using moe::require_shape;
using moe::check_cache_room;

}  // namespace moe::cuda
