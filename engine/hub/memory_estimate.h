// Will a model fit? From config.json alone (before downloading): parameters counted from the
// architecture's tensor shapes, weight bytes per dtype, KV-cache bytes per token, compared with
// this machine's available RAM and (CUDA builds with a device) free GPU memory.
//
// Weight bytes: "stored" = the listing's safetensors sizes (the dtype the repository ships);
// "bf16" = 2 bytes per parameter; "fp8" = 1 byte per element of every projection matrix plus one
// fp32 scale per 128x128 block (DeepSeek-V3's layout), 2 bytes for embeddings, lm_head, router and norms.
// KV cache per token, bf16: DeepSeek MLA keeps the compressed latent (kv_lora_rank + qk_rope_head_dim,
// 512 + 64 for V3) per layer; Qwen2 keeps K and V (2 * kv_heads * head_dim) per layer.
// The GPU is the caller's to ask (session/accelerator.h): hub/ knows no device API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/strict_json.h"
#include "io/model_config.h"

namespace moe::hub {

struct ParameterCount {
    int64_t main = 0;          // main model (what `moe-engine inspect` calls total)
    int64_t mtp = 0;           // multi-token-prediction layers (DeepSeek-V3), stored too
    uint64_t fp8_bytes = 0;    // main + MTP as an fp8 checkpoint with block scales
};

// A GPU to compare with: its name and memory as the device reports them.
struct GpuDevice {
    std::string name;
    uint64_t free_bytes = 0, total_bytes = 0;
};

struct GpuFit {
    std::string name;
    uint64_t free_bytes = 0, total_bytes = 0;
    bool fits = false;
};

struct MemoryEstimate {
    std::string architecture;  // model_type
    ParameterCount params;
    uint64_t weights_stored = 0, weights_bf16 = 0, weights_fp8 = 0;
    uint64_t kv_bytes_per_token = 0;
    int64_t ctx = 0;
    uint64_t kv_bytes = 0;
    uint64_t total_bytes = 0;  // weights as stored (bf16 when unknown) + KV cache for ctx
    std::optional<uint64_t> ram_available;
    bool ram_fits = false;
    std::optional<GpuFit> gpu;
};

ParameterCount count_parameters(const ModelConfig& c);
uint64_t kv_cache_bytes_per_token(const ModelConfig& c);
// stored_weight_bytes: sum of the safetensors files (0 when unknown). gpu: this machine's GPU, if
// any; the estimate's `gpu` says whether the total fits its free memory.
MemoryEstimate estimate_memory(const ModelConfig& c, uint64_t stored_weight_bytes, int64_t ctx,
                               const std::optional<GpuDevice>& gpu = std::nullopt);
// MemAvailable from /proc/meminfo, in bytes.
std::optional<uint64_t> mem_available_bytes();

Json estimate_to_json(const MemoryEstimate& e);

}  // namespace moe::hub
