// Tiny random checkpoints written to a temp dir (config.json + safetensors), for end-to-end tests
// that need no downloaded fixture: internal consistency (incremental decode == full forward, MTP,
// shapes, dtypes, FP8 block scales, sharded index).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "support/fp8_encode.h"
#include "support/temp_dir.h"

namespace moe::test {

// Collects tensors and writes one safetensors file (8-byte LE header length + JSON + data).
class SafetensorsWriter {
public:
    // values are stored converted to dtype (F32, F16, BF16).
    void add(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values, DType dtype);
    // A 2-D weight stored as F8_E4M3 with a [ceil(rows/br), ceil(cols/bc)] f32 NAME_scale_inv.
    // Returns the dequantised values (what a reference computes with).
    std::vector<float> add_fp8(const std::string& name, int64_t rows, int64_t cols, const std::vector<float>& values,
                               int64_t block_rows, int64_t block_cols);
    void write(const std::string& path) const;
    std::vector<std::string> names() const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<Entry> entries_;
};


struct TinyDeepseekSpec {
    bool v2 = false;  // deepseek_v2: softmax + greedy, norm_topk_prob false
    bool q_lora = true;
    bool mtp = true;         // num_nextn_predict_layers 1 with the layer stored
    bool mtp_copies = true;  // store the MTP layer's embed_tokens / shared_head.head
    bool yarn = true;
    bool fp8 = false;         // F8_E4M3 linear weights with 16x16 block scales
    bool fp8_as_f32 = false;  // the same weights quantised and dequantised, stored as F32 (fp8's twin)
    DType dtype = DType::BF16;
    uint64_t seed = 1;
};

// Writes config.json + model.safetensors; returns the config text.
std::string write_tiny_deepseek(const std::string& dir, const TinyDeepseekSpec& spec);

struct TinyQwen2Spec {
    bool tie_word_embeddings = false;
    bool sharded = true;  // two shards + model.safetensors.index.json
    DType dtype = DType::BF16;
    uint64_t seed = 2;
};

std::string write_tiny_qwen2(const std::string& dir, const TinyQwen2Spec& spec);

}  // namespace moe::test
