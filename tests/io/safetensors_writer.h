// Test-only safetensors writer: valid files for round trips, and raw assembly for broken ones.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/strict_json.h"
#include "support/fp8_encode.h"
#include "support/temp_dir.h"

namespace moe::test {

struct StTensor {
    std::string name;
    std::string dtype;               // safetensors spelling, may be bogus on purpose
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

// A valid file: header padded with spaces to a multiple of 8, tensors stored in the given order.
std::vector<uint8_t> safetensors_bytes(const std::vector<StTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});
// The header JSON a valid file of these tensors would carry (offsets in the given order).
Json safetensors_header(const std::vector<StTensor>& tensors, const std::map<std::string, std::string>& metadata = {});
// Raw assembly: u64 length (the real one unless overridden) + header text + buffer.
std::vector<uint8_t> raw_safetensors(const std::string& header, const std::vector<uint8_t>& buffer,
                                     std::optional<uint64_t> length_field = std::nullopt);

// Encodes f32 values as F32/F16/BF16/F8_E4M3 (fp8: nearest representable, ties to the lower code).
std::vector<uint8_t> encode_f32(DType t, const std::vector<float>& values);
StTensor make_tensor(const std::string& name, DType t, std::vector<int64_t> shape, const std::vector<float>& values);
// Deterministic pseudo-random values in [-1, 1).
std::vector<float> test_values(size_t n, uint32_t seed);

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);

}  // namespace moe::test
