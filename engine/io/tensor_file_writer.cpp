#include "io/tensor_file_writer.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <unistd.h>

#include "core/error.h"
#include "core/strict_json.h"

namespace moe {
namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

[[noreturn]] void write_failed(const std::string& path, const std::string& what) {
    throw Error("io.write_failed", path, what + ": " + std::strerror(errno));
}

}  // namespace

// Two writers creating the same cached demo model at once (two workbench windows, parallel tests)
// each write their own temporary file and rename it over the other's: same bytes, atomic.
std::string unique_partial_name(const std::string& path) {
    static std::atomic<uint64_t> counter{0};
    return path + ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

int64_t TensorToWrite::bytes() const {
    int64_t n = int64_t(dtype_size(dtype));
    for (int64_t d : shape) n *= d;
    return n;
}

std::string safetensors_header(const std::map<std::string, TensorToWrite>& tensors) {
    Json header = Json::object();
    header["__metadata__"] = {{"format", "pt"}};
    int64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        header[name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape},
                        {"data_offsets", {offset, offset + t.bytes()}}};
        offset += t.bytes();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
    return text;
}

int64_t safetensors_file_size(const std::map<std::string, TensorToWrite>& tensors) {
    int64_t size = 8 + int64_t(safetensors_header(tensors).size());
    for (const auto& [name, t] : tensors) size += t.bytes();
    return size;
}

TensorToWrite f32_tensor(std::vector<float> values, std::vector<int64_t> shape) {
    auto data = std::make_shared<std::vector<float>>(std::move(values));
    return TensorToWrite{DType::F32, std::move(shape), [data](std::vector<uint8_t>& out) {
                             const auto* p = reinterpret_cast<const uint8_t*>(data->data());
                             out.insert(out.end(), p, p + data->size() * sizeof(float));
                         }};
}

namespace {
// Removes a temporary file unless it was renamed into place.
struct PartialFile {
    std::string path;
    bool done = false;
    ~PartialFile() {
        if (!done) std::remove(path.c_str());
    }
};
}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors) {
    PartialFile partial{unique_partial_name(path)};
    const std::string& tmp = partial.path;
    {
        std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
        if (!f) write_failed(tmp, "cannot create the file");
        const std::string header = safetensors_header(tensors);
        uint8_t len[8];
        for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
        if (std::fwrite(len, 1, 8, f.get()) != 8 || std::fwrite(header.data(), 1, header.size(), f.get()) != header.size())
            write_failed(tmp, "cannot write the header");
        std::vector<uint8_t> data;
        for (const auto& [name, t] : tensors) {
            data.clear();
            t.fill(data);
            if (int64_t(data.size()) != t.bytes())
                throw Error("io.internal", tmp, "tensor '" + name + "' produced " + std::to_string(data.size()) +
                                                      " bytes, its shape needs " + std::to_string(t.bytes()), name);
            if (std::fwrite(data.data(), 1, data.size(), f.get()) != data.size())
                write_failed(tmp, "cannot write tensor '" + name + "'");
        }
        if (std::fflush(f.get()) != 0) write_failed(tmp, "cannot flush");
        // On disk before the rename publishes it: a crash leaves the old file or the whole new one.
        if (::fsync(::fileno(f.get())) != 0) write_failed(tmp, "cannot sync");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) write_failed(path, "cannot rename " + tmp + " to it");
    partial.done = true;
}

}  // namespace moe
