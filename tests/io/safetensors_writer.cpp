#include "io/safetensors_writer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace moe::test {

Json safetensors_header(const std::vector<StTensor>& tensors, const std::map<std::string, std::string>& metadata) {
    Json h = Json::object();
    if (!metadata.empty()) h["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const StTensor& t : tensors) {
        h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    return h;
}

std::vector<uint8_t> raw_safetensors(const std::string& header, const std::vector<uint8_t>& buffer,
                                     std::optional<uint64_t> length_field) {
    const uint64_t n = length_field.value_or(header.size());
    std::vector<uint8_t> out(8);
    for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), buffer.begin(), buffer.end());
    return out;
}

std::vector<uint8_t> safetensors_bytes(const std::vector<StTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
    std::string header = safetensors_header(tensors, metadata).dump();
    header.append((8 - header.size() % 8) % 8, ' ');
    std::vector<uint8_t> buffer;
    for (const StTensor& t : tensors) buffer.insert(buffer.end(), t.bytes.begin(), t.bytes.end());
    return raw_safetensors(header, buffer);
}

std::vector<uint8_t> encode_f32(DType t, const std::vector<float>& values) {
    std::vector<uint8_t> out(values.size() * dtype_size(t));
    for (size_t i = 0; i < values.size(); ++i) {
        uint8_t* p = out.data() + i * dtype_size(t);
        switch (t) {
            case DType::F32: std::memcpy(p, &values[i], 4); break;
            case DType::F16: { const uint16_t h = f32_to_f16(values[i]); std::memcpy(p, &h, 2); break; }
            case DType::BF16: { const uint16_t b = f32_to_bf16(values[i]); std::memcpy(p, &b, 2); break; }
            case DType::F8_E4M3: *p = f32_to_fp8_e4m3(values[i]); break;
            default: throw std::invalid_argument("encode_f32: unsupported dtype");
        }
    }
    return out;
}

StTensor make_tensor(const std::string& name, DType t, std::vector<int64_t> shape, const std::vector<float>& values) {
    return {name, std::string(dtype_name(t)), std::move(shape), encode_f32(t, values)};
}

std::vector<float> test_values(size_t n, uint32_t seed) {
    std::vector<float> v(n);
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = float(x % 2048u) / 1024.0f - 1.0f;
    }
    return v;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

void write_text(const std::string& path, const std::string& text) {
    write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace moe::test
