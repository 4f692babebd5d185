// Writes a .safetensors file (the format io/safetensors reads strictly): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}} padded with spaces to a multiple
// of 8, then the tensors' bytes back to back. Deterministic: tensors are laid out in name order and
// the header's keys are sorted, so the same tensors always give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace moe {

struct TensorToWrite {
    DType dtype = DType::BF16;
    std::vector<int64_t> shape;
    // Appends the tensor's bytes (little-endian, shape's element count × dtype size) to `out`.
    std::function<void(std::vector<uint8_t>& out)> fill;
    int64_t bytes() const;
};

// The header as it will be written (with its 8-byte-alignment padding); its size tells the file size.
std::string safetensors_header(const std::map<std::string, TensorToWrite>& tensors);
int64_t safetensors_file_size(const std::map<std::string, TensorToWrite>& tensors);

// "<path>.partial-<pid>-<n>": a temporary name no other writer (process or thread) uses.
std::string unique_partial_name(const std::string& path);

// An F32 tensor of `shape` holding `values` (row-major).
TensorToWrite f32_tensor(std::vector<float> values, std::vector<int64_t> shape);

// Writes to `path` atomically (a temporary file of this process renamed over it). The file is synced before the rename. Throws moe::Error("io.write_failed").
void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors);

}  // namespace moe
