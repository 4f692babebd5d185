#include "warning_checkpoint.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/test_paths.h"

namespace moe::test {
namespace {

bool dropped(const std::string& name) { return name.rfind("model.layers.3.", 0) == 0; }  // the MTP layer

// safetensors: u64 little-endian header length, the JSON header ({name: {dtype, shape,
// data_offsets: [begin, end)}} relative to the data), then the data. Rewritten with the kept
// tensors packed in their original order, the header padded with spaces to a multiple of 8.
void copy_safetensors_without_dropped(const std::string& from, const std::string& to) {
    const std::string bytes = read_file(from);
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    const nlohmann::ordered_json header = nlohmann::ordered_json::parse(bytes.substr(8, header_len));
    const size_t data_start = 8 + header_len;
    nlohmann::ordered_json out_header;
    std::string data;
    for (const auto& [name, info] : header.items()) {
        if (name == "__metadata__") {
            out_header[name] = info;
            continue;
        }
        if (dropped(name)) continue;
        const uint64_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
        nlohmann::ordered_json kept = info;
        kept["data_offsets"] = {data.size(), data.size() + (end - begin)};
        data += bytes.substr(data_start + begin, end - begin);
        out_header[name] = kept;
    }
    std::string text = out_header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const uint64_t len = text.size();
    std::ofstream out(to, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&len), 8);
    out << text << data;
    if (!out) throw std::runtime_error("cannot write " + to);
}

}  // namespace

void write_warning_checkpoint(const std::string& dir) {
    const std::string src = data_path("models/deepseek-v3-tiny");
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
        std::filesystem::copy_file(src + "/" + f, dir + "/" + f);
    copy_safetensors_without_dropped(src + "/model.safetensors", dir + "/model.safetensors");
}

}  // namespace moe::test
