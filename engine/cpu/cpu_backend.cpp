// CpuBackend: memory and weight handles. The ops live in cpu_<op>.cpp.
#include "cpu/cpu_backend.h"

#include <algorithm>

#include "core/error.h"
#include "io/checkpoint.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

Tensor CpuBackend::alloc(int64_t rows, int64_t cols, DType dtype) {
    return make_tensor(rows, cols, dtype);
}

Tensor CpuBackend::upload(std::span<const float> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols) throw_invalid_argument("upload: data size does not match the shape");
    Tensor t = make_tensor(rows, cols);
    std::copy(data.begin(), data.end(), f32(t));
    return t;
}

Tensor CpuBackend::upload_i32(std::span<const int32_t> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols) throw_invalid_argument("upload_i32: data size does not match the shape");
    Tensor t = make_tensor(rows, cols, DType::I32);
    std::copy(data.begin(), data.end(), i32(t));
    return t;
}

std::vector<float> CpuBackend::download(const Tensor& t) {
    const float* p = f32(t);
    return std::vector<float>(p, p + t.numel());
}

std::vector<int32_t> CpuBackend::download_i32(const Tensor& t) {
    const int32_t* p = i32(t);
    return std::vector<int32_t>(p, p + t.numel());
}

Weight CpuBackend::load_weight(const WeightMatrix& matrix) {
    auto s = std::make_shared<CpuWeightStorage>();
    s->matrix = matrix;  // a view into the checkpoint's maps: no copy of the data
    s->rows = matrix.rows();
    s->cols = matrix.cols();
    return Weight(std::move(s), matrix.rows(), matrix.cols());
}

Weight CpuBackend::weight_from_f32(std::span<const float> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols)
        throw_invalid_argument("weight_from_f32: data size does not match the shape");
    auto s = std::make_shared<CpuWeightStorage>();
    s->owned.assign(data.begin(), data.end());
    s->rows = rows;
    s->cols = cols;
    return Weight(std::move(s), rows, cols);
}

ExpertSet CpuBackend::make_expert_set(std::vector<FfnWeights> experts) {
    auto s = std::make_shared<CpuExpertSetStorage>();
    s->experts = std::move(experts);
    const int64_t n = int64_t(s->experts.size());
    return ExpertSet{std::move(s), n};
}

}  // namespace moe
