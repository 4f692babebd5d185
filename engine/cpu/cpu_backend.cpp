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
    s->rows = matrix.rows();
    s->cols = matrix.cols();
    const int64_t f32_bytes = s->rows * s->cols * 4;
    if (f32_bytes <= f32_copy_left_) {
        s->owned = matrix.to_f32();  // the same values rows_f32 would give at every use
        f32_copy_left_ -= f32_bytes;
    } else {
        s->matrix = matrix;  // a view into the checkpoint's maps: no copy of the data
    }
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

namespace {

std::shared_ptr<CpuWeightStorage> master_view(const Tensor& master, int64_t row0, int64_t rows) {
    require_shape(master, master.rows(), master.cols(), "weight master");
    if (master.dtype() != DType::F32) throw_invalid_argument("weight masters are F32 tensors");
    if (row0 < 0 || rows < 0 || row0 + rows > master.rows()) throw_invalid_argument("weight view rows out of range");
    auto s = std::make_shared<CpuWeightStorage>();
    s->master = master;
    s->master_row0 = row0;
    s->rows = rows;
    s->cols = master.cols();
    return s;
}

// E experts of stacked masters, each expert's weights a view of its rows.
std::vector<FfnWeights> expert_views(const Tensor& gate, const Tensor& up, const Tensor& down, int64_t E) {
    if (E <= 0 || gate.rows() % E != 0 || down.rows() % E != 0)
        throw_invalid_argument("expert masters: row counts are not a multiple of the expert count");
    require_shape(up, gate.rows(), gate.cols(), "expert up master");
    const int64_t inter = gate.rows() / E, hidden = down.rows() / E;
    if (gate.cols() != hidden || down.cols() != inter)
        throw_invalid_argument("expert masters: gate/up [E*inter, hidden] and down [E*hidden, inter] do not fit");
    std::vector<FfnWeights> experts;
    for (int64_t e = 0; e < E; ++e)
        experts.push_back(FfnWeights{Weight(master_view(gate, e * inter, inter), inter, hidden),
                                     Weight(master_view(up, e * inter, inter), inter, hidden),
                                     Weight(master_view(down, e * hidden, hidden), hidden, inter)});
    return experts;
}

}  // namespace

Weight CpuBackend::weight_from_tensor(const Tensor& master) {
    return Weight(master_view(master, 0, master.rows()), master.rows(), master.cols());
}

void CpuBackend::refresh_weight(const Weight& w, const Tensor& master) {
    // The weight reads the master's memory: nothing to copy, but it must be that master.
    if (weight_storage(w).master.storage() != master.storage())
        throw_invalid_argument("refresh_weight: the weight was not made from this master");
}

ExpertSet CpuBackend::expert_set_from_tensors(const Tensor& gate, const Tensor& up, const Tensor& down,
                                              int64_t n_experts) {
    return make_expert_set(expert_views(gate, up, down, n_experts));
}

void CpuBackend::refresh_expert_set(const ExpertSet& set, const Tensor& gate, const Tensor&, const Tensor&) {
    const auto* s = dynamic_cast<const CpuExpertSetStorage*>(set.storage.get());
    if (!s || s->experts.empty() || weight_storage(s->experts[0].gate).master.storage() != gate.storage())
        throw_invalid_argument("refresh_expert_set: the set was not made from these masters");
}

}  // namespace moe
