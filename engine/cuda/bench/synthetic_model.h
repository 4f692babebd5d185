// A model of a real shape with random bf16 weights made directly on the GPU, running the same op
// sequence as engine/model/deepseek_model.cpp (MLA + MoE) and qwen2_model.cpp (GQA), for
// `moe-engine bench`. The graph code is mirrored (not shared) because those models load weights
// from a Checkpoint; keep the op order in step with them.
//
// Decode runs as a captured CUDA graph: the token id and position live in device memory, the
// graph ends with the argmax written back to the token slot and the position advanced, so one
// replay is one decode step and the host reads only the sampled id.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/device_buffer.h"
#include "io/model_config.h"

namespace moe::bench {

class SyntheticModel {
public:
    SyntheticModel(CudaBackend& backend, const ModelConfig& config, int64_t capacity, uint64_t seed);
    ~SyntheticModel();

    // Prefill T random tokens at positions [start_pos, start_pos + T); returns last-row logits [1, vocab].
    Tensor prefill(const std::vector<int32_t>& tokens, int64_t start_pos);
    // Fills the KV caches of positions [0, n) with random values (decode at context n without
    // spending minutes of prefill) and sets the device position to n, the token to `token`.
    void fake_context(int64_t n, int32_t token);
    // One decode step outside any graph (warm-up; also proves the graph's ops run eagerly).
    void decode_step_eager();
    // Captures one decode step into a CUDA graph (call after decode_step_eager()).
    void capture_decode_graph();
    // Replays the graph once and reads the sampled token back (the only host sync per token).
    int32_t decode_step_graph();

    // Bytes one decode step must read at context n: every weight it touches once (the top_k
    // experts of each MoE layer only) plus the KV cache rows 0..n. Activations are not counted.
    double decode_bytes(int64_t n) const;
    // Forward flops of T tokens starting at position 0 (2 per multiply-add; attention causal).
    double prefill_flops(int64_t T) const;
    size_t weight_bytes() const { return backend_.weight_bytes(); }

private:
    struct Layer;
    Tensor forward(std::span<const int32_t> tokens, int64_t start_pos);
    // h += pending; h += attention(norm(h)); returns the FFN output (the next pending).
    Tensor deepseek_layer(Tensor& h, const Tensor& pending, Layer& l, int64_t start_pos);
    Tensor qwen_layer(Tensor& h, const Tensor& pending, Layer& l, int64_t start_pos);
    void decode_body();

    CudaBackend& backend_;
    ModelConfig c_;
    int64_t capacity_;
    bool mla_;
    RopeTable rope_;
    MlaDims mla_dims_{};
    GqaDims gqa_dims_{};
    RouterParams router_{};
    std::vector<Layer> layers_;
    Weight embed_, lm_head_;
    Tensor final_norm_;
    Tensor token_, pos_;  // device I32 [1]: the decode step's inputs (and the sampled output)
    cuda::PinnedBuffer host_token_;
    cuda::Graph graph_;
};

}  // namespace moe::bench
