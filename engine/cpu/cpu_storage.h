// What the CPU reference backend keeps behind Tensor / Weight / ExpertSet handles, and the two
// helpers every CPU op file shares (typed access and the weight-times-activations product).
// Internal to engine/cpu/cpu_*.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cpu/cpu_dot.h"
#include "io/checkpoint.h"
#include "model/backend.h"
#include "model/shape_checks.h"
#include "model/tensor.h"

namespace moe::cpu {

struct CpuTensorStorage final : TensorStorage {
    std::vector<float> f32;
    std::vector<int32_t> i32;
};

// A WeightMatrix still in the mmapped checkpoint (converted a block of rows at a time, so a
// 16B bf16 model never needs its f32 copy in RAM), owned f32 data, or a view of rows of an F32
// master tensor (training: the optimiser updates the master and the weight sees it, no copy).
struct CpuWeightStorage final : WeightStorage {
    std::optional<WeightMatrix> matrix;
    std::vector<float> owned;  // [rows, cols] when there is no matrix and no master
    Tensor master;             // keeps the viewed master alive
    int64_t master_row0 = 0;   // the view's first row in the master
    int64_t rows = 0;
    int64_t cols = 0;

    // Rows [row0, row0 + count) as f32 [count, cols]: a pointer into `owned`, or converted into
    // `scratch` (which must hold count * cols floats).
    const float* rows_f32(int64_t row0, int64_t count, float* scratch) const;
    // Whether rows_f32 converts into its scratch (a checkpoint matrix without an f32 copy).
    bool converts() const { return master.empty() && matrix.has_value(); }
};

struct CpuExpertSetStorage final : ExpertSetStorage {
    std::vector<FfnWeights> experts;
};

Tensor make_tensor(int64_t rows, int64_t cols, DType dtype = DType::F32);
float* f32(Tensor& t);
const float* f32(const Tensor& t);
int32_t* i32(Tensor& t);
const int32_t* i32(const Tensor& t);
const CpuWeightStorage& weight_storage(const Weight& w);

// y [T, out] = x [T, in] · Wᵀ for W [out, in], fp32 accumulation. Parallel over blocks of W's
// rows, each block converted to f32 once and used for all T rows of x.
void matmul_wt(const float* x, int64_t T, const CpuWeightStorage& w, float* y);

// Parallel regions cost a barrier (and, on a busy 2-core machine, a scheduler time slice): ops
// only fork threads when they have at least this many multiply-adds to share.
constexpr int64_t kMinParallelWork = int64_t(1) << 18;


}  // namespace moe::cpu
