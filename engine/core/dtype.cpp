#include "core/dtype.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace moe {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F64: case DType::I64: case DType::U64: return 8;
        case DType::F32: case DType::I32: case DType::U32: return 4;
        case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
        case DType::F8_E4M3: case DType::F8_E5M2: case DType::I8: case DType::U8: case DType::BOOL: return 1;
    }
    return 0;
}

namespace {
struct NameEntry { DType type; std::string_view name; };
constexpr NameEntry kNames[] = {
    {DType::F64, "F64"},   {DType::F32, "F32"},         {DType::F16, "F16"},         {DType::BF16, "BF16"},
    {DType::F8_E4M3, "F8_E4M3"}, {DType::F8_E5M2, "F8_E5M2"}, {DType::I64, "I64"}, {DType::I32, "I32"},
    {DType::I16, "I16"},   {DType::I8, "I8"},           {DType::U64, "U64"},         {DType::U32, "U32"},
    {DType::U16, "U16"},   {DType::U8, "U8"},           {DType::BOOL, "BOOL"},
};
}  // namespace

std::string_view dtype_name(DType t) {
    for (const auto& e : kNames)
        if (e.type == t) return e.name;
    return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
    for (const auto& e : kNames)
        if (e.name == name) return e.type;
    return std::nullopt;
}

bool dtype_is_float(DType t) {
    switch (t) {
        case DType::F64: case DType::F32: case DType::F16: case DType::BF16:
        case DType::F8_E4M3: case DType::F8_E5M2: return true;
        default: return false;
    }
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            int e = -1;
            do { mant <<= 1; ++e; } while ((mant & 0x400u) == 0);
            bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (absx >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520 -> inf
    if (absx < 0x38800000u) {                          // below the smallest normal: subnormal or zero
        const float scaled = std::fabs(f) * 16777216.0f;  // 2^24: one f16 subnormal ulp becomes 1
        return sign | uint16_t(std::nearbyint(scaled));
    }
    uint32_t rounded = absx + 0xfffu + ((absx >> 13) & 1u);  // round to nearest even at bit 13
    return sign | uint16_t(((rounded >> 13) - ((127 - 15) << 10)) & 0x7fffu);
}

namespace {
float decode_fp8_e4m3(uint8_t v) {
    const bool neg = v & 0x80u;
    const int exp = (v >> 3) & 0xf;
    const int mant = v & 0x7;
    float out;
    if (exp == 0xf && mant == 0x7) return std::numeric_limits<float>::quiet_NaN();
    if (exp == 0) out = std::ldexp(float(mant) / 8.0f, -6);
    else out = std::ldexp(1.0f + float(mant) / 8.0f, exp - 7);
    return neg ? -out : out;
}

// All 256 codes decoded once: fp8 checkpoints are converted a row block per matmul on the CPU, and
// ldexp per element made that conversion, not the arithmetic, the cost of a token.
const std::array<float, 256>& fp8_e4m3_table() {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int c = 0; c < 256; ++c) t[size_t(c)] = decode_fp8_e4m3(uint8_t(c));
        return t;
    }();
    return table;
}
}  // namespace

float fp8_e4m3_to_f32(uint8_t v) {
    return fp8_e4m3_table()[v];
}

float fp8_e5m2_to_f32(uint8_t v) {
    return f16_to_f32(uint16_t(v) << 8);  // e5m2 is the top byte of an IEEE half
}

namespace {
// Tensor data inside a mapped safetensors file need not be aligned to the element size (headers
// are not always padded to 8 bytes), so elements are loaded with memcpy, never through a cast pointer.
template <typename T>
T load_unaligned(const uint8_t* p, size_t i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    return v;
}
}  // namespace

void convert_to_f32(DType t, const void* src, float* dst, size_t count) {
    const auto* s = static_cast<const uint8_t*>(src);
    switch (t) {
        case DType::F32:
            std::memcpy(dst, src, count * 4);
            return;
        case DType::F64:
            for (size_t i = 0; i < count; ++i) dst[i] = float(load_unaligned<double>(s, i));
            return;
        case DType::BF16:
            for (size_t i = 0; i < count; ++i) dst[i] = bf16_to_f32(load_unaligned<uint16_t>(s, i));
            return;
        case DType::F16:
            for (size_t i = 0; i < count; ++i) dst[i] = f16_to_f32(load_unaligned<uint16_t>(s, i));
            return;
        case DType::F8_E4M3: {
            const std::array<float, 256>& table = fp8_e4m3_table();
            for (size_t i = 0; i < count; ++i) dst[i] = table[s[i]];
            return;
        }
        case DType::F8_E5M2:
            for (size_t i = 0; i < count; ++i) dst[i] = fp8_e5m2_to_f32(s[i]);
            return;
        default:
            throw_invalid_argument("convert_to_f32: dtype " + std::string(dtype_name(t)) + " is not a float type");
    }
}

uint8_t f32_to_fp8_e4m3(float v) {
    if (std::isnan(v)) return 0x7f;
    // The 127 non-negative finite codes (0x00..0x7e) increase with their value: binary search.
    static const std::array<float, 127> table = [] {
        std::array<float, 127> t{};
        for (int c = 0; c < 127; ++c) t[size_t(c)] = fp8_e4m3_to_f32(uint8_t(c));
        return t;
    }();
    const uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
    const float a = std::fabs(v);
    if (a >= table[126]) return uint8_t(sign | 126);
    const size_t hi = size_t(std::upper_bound(table.begin(), table.end(), a) - table.begin());  // table[hi-1] <= a < table[hi]
    const size_t lo = hi - 1;
    const float dl = a - table[lo], dh = table[hi] - a;
    const size_t pick = dl < dh ? lo : (dh < dl ? hi : (lo % 2 == 0 ? lo : hi));
    return uint8_t(sign | pick);
}

}  // namespace moe
