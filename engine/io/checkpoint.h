// A Hugging Face checkpoint directory: config.json + one or more memory-mapped safetensors files.
//
// Opening validates every header strictly (io/safetensors.h) and cross-checks the tensor shapes
// against the config. Tensor data is never copied at open: weights are read from the maps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/model_config.h"
#include "io/tensor_info.h"  // TensorInfo

namespace moe {

class SafetensorsFile;

// A 2-D weight [rows, cols] exactly as stored (F32/F16/BF16, or F8_E4M3 with a 128x128 block
// weight_scale_inv), read as f32 a block of rows at a time. Dequantisation multiplies by the
// block scale: W[i,j] = fp8(W[i,j]) * scale_inv[i/128, j/128].
class WeightMatrix {
public:
    WeightMatrix() = default;
    WeightMatrix(const TensorInfo* weight, const TensorInfo* scale_inv, int64_t block_rows, int64_t block_cols);
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    DType dtype() const { return weight_ ? weight_->dtype : DType::F32; }
    const TensorInfo* weight() const { return weight_; }
    const TensorInfo* scale_inv() const { return scale_; }
    // The scale grid's block (fp8): scale_inv is [ceil(rows / block_rows), ceil(cols / block_cols)].
    int64_t block_rows() const { return block_rows_; }
    int64_t block_cols() const { return block_cols_; }
    // out: [count, cols] f32, rows [row0, row0+count)
    void rows_f32(int64_t row0, int64_t count, float* out) const;
    std::vector<float> to_f32() const;

private:
    const TensorInfo* weight_ = nullptr;
    const TensorInfo* scale_ = nullptr;
    int64_t rows_ = 0, cols_ = 0, block_rows_ = 128, block_cols_ = 128;
};

class Checkpoint {
public:
    // dir holds config.json and model.safetensors or model.safetensors.index.json (+ shards).
    // Refuses pickle-only checkpoints (.bin/.pt/.pth/.ckpt) with "checkpoint.pickle_refused".
    static std::unique_ptr<Checkpoint> open(const std::string& dir);
    ~Checkpoint();

    const ModelConfig& config() const { return config_; }
    const std::string& dir() const { return dir_; }

    bool has(const std::string& name) const;
    // Throws "checkpoint.missing_tensor" naming the tensor and the directory.
    const TensorInfo& tensor(const std::string& name) const;
    // Checks the shape; throws "checkpoint.shape_mismatch" with expected vs actual.
    const TensorInfo& tensor(const std::string& name, const std::vector<int64_t>& expected_shape) const;
    // A 2-D weight named NAME (with NAME_scale_inv when stored as fp8); shape checked.
    WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const;
    // A 1-D (or any) tensor converted to f32, shape checked.
    std::vector<float> vector_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const;

    std::vector<std::string> tensor_names() const;   // sorted
    const std::vector<std::string>& files() const { return files_; }

    // Every tensor by name (sorted), for inspection and summaries.
    const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
    // MTP layers actually stored (0..num_nextn_predict_layers): a checkpoint may drop them all,
    // but a layer that is present must be complete.
    int64_t num_mtp_layers() const { return mtp_layers_; }
    // The model.safetensors.index.json path, or "" for unindexed checkpoints.
    const std::string& index_file() const { return index_file_; }
    // FP8 block size: from quantization_config, else DeepSeek's 128x128.
    int64_t fp8_block_rows() const { return config_.fp8 ? config_.fp8->block_rows : 128; }
    int64_t fp8_block_cols() const { return config_.fp8 ? config_.fp8->block_cols : 128; }

private:
    Checkpoint() = default;
    void add_shard(const std::string& path);
    void load_unindexed(const std::vector<std::string>& names);
    void load_indexed(const std::string& index_path);

    std::string dir_;
    ModelConfig config_;
    std::vector<std::string> files_;
    std::vector<std::unique_ptr<SafetensorsFile>> shards_;
    std::map<std::string, TensorInfo> tensors_;
    int64_t mtp_layers_ = 0;
    std::string index_file_;
};

}  // namespace moe
