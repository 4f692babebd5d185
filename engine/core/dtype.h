// Element types found in safetensors files and the scalar conversions the CPU reference needs.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace moe {

enum class DType : uint8_t { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

// Size of one element in bytes.
size_t dtype_size(DType t);
// Safetensors spelling ("BF16", "F8_E4M3", ...).
std::string_view dtype_name(DType t);
// Parses the safetensors spelling; nullopt for anything unknown (sub-byte types included).
std::optional<DType> parse_dtype(std::string_view name);
bool dtype_is_float(DType t);

// ---- scalar conversions (exact, round-to-nearest-even where narrowing) ----
inline float bf16_to_f32(uint16_t v) {
    uint32_t bits = uint32_t(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)
        return uint16_t((bits >> 16) | 0x0040u);  // keep NaN a quiet NaN
    uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float f);
// float8 e4m3fn (no infinities, 0x7f/0xff are NaN, max finite 448).
float fp8_e4m3_to_f32(uint8_t v);
// The nearest float8 e4m3fn code (ties to the even code), saturating at ±448; NaN -> 0x7f.
uint8_t f32_to_fp8_e4m3(float v);
// float8 e5m2 (IEEE-like, with infinities).
float fp8_e5m2_to_f32(uint8_t v);

// Converts `count` elements of a float dtype to f32. Integer dtypes are rejected by the caller.
void convert_to_f32(DType t, const void* src, float* dst, size_t count);

}  // namespace moe
