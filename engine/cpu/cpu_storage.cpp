#include "cpu/cpu_storage.h"

#include <string>

#include "core/error.h"

namespace moe::cpu {

const float* CpuWeightStorage::rows_f32(int64_t row0, int64_t count, float* scratch) const {
    if (row0 < 0 || count < 0 || row0 + count > rows) throw_invalid_argument("weight rows out of range");
    if (!master.empty()) return f32(master) + (master_row0 + row0) * cols;
    if (!matrix) return owned.data() + row0 * cols;
    matrix->rows_f32(row0, count, scratch);
    return scratch;
}

Tensor make_tensor(int64_t rows, int64_t cols, DType dtype) {
    if (rows < 0 || cols < 0) throw_invalid_argument("negative tensor shape");
    auto s = std::make_shared<CpuTensorStorage>();
    if (dtype == DType::F32)
        s->f32.assign(size_t(rows * cols), 0.0f);
    else if (dtype == DType::I32)
        s->i32.assign(size_t(rows * cols), 0);
    else
        throw_invalid_argument("CPU tensors are F32 or I32");
    return Tensor(std::move(s), rows, cols, dtype);
}

namespace {
CpuTensorStorage& storage_of(const Tensor& t, DType want) {
    auto* s = dynamic_cast<CpuTensorStorage*>(t.storage());
    if (!s) throw_invalid_argument("tensor does not belong to the CPU backend");
    if (t.dtype() != want)
        throw_invalid_argument(std::string("tensor has dtype ") + std::string(dtype_name(t.dtype())));
    return *s;
}
}  // namespace

float* f32(Tensor& t) {
    return storage_of(t, DType::F32).f32.data();
}
const float* f32(const Tensor& t) {
    return storage_of(t, DType::F32).f32.data();
}
int32_t* i32(Tensor& t) {
    return storage_of(t, DType::I32).i32.data();
}
const int32_t* i32(const Tensor& t) {
    return storage_of(t, DType::I32).i32.data();
}

const CpuWeightStorage& weight_storage(const Weight& w) {
    auto* s = dynamic_cast<const CpuWeightStorage*>(w.storage());
    if (!s) throw_invalid_argument("weight does not belong to the CPU backend");
    return *s;
}


}  // namespace moe::cpu
