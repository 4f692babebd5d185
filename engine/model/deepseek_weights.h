// The weights of a DeepSeek V2/V3-family checkpoint, as backend handles (doc §2).
// Names: model.layers.L.self_attn.{q_a_proj,q_a_layernorm,q_b_proj | q_proj, kv_a_proj_with_mqa,
// kv_a_layernorm, kv_b_proj, o_proj}, mlp.{gate,up,down}_proj (dense) or mlp.gate(.e_score_correction_bias),
// mlp.experts.E.*, mlp.shared_experts.* (MoE); MTP layer L = num_hidden_layers adds enorm, hnorm, eh_proj,
// embed_tokens, shared_head.{norm,head}.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/backend.h"

namespace moe {

class Checkpoint;

struct MlaWeights {
    bool q_lora = false;
    Weight q_a;        // [q_lora_rank, hidden]             (q_lora)
    Tensor q_a_norm;   // [1, q_lora_rank]                   (q_lora)
    Weight q_b;        // [H * qk_head, q_lora_rank]         (q_lora)
    Weight q;          // [H * qk_head, hidden]              (no q_lora)
    Weight kv_a;       // [kv_lora + qk_rope, hidden]
    Tensor kv_a_norm;  // [1, kv_lora]
    Weight kv_b;       // [H * (qk_nope + v_head), kv_lora]
    Weight o;          // [hidden, H * v_head]
};

struct MoeWeights {
    Weight gate;                       // [E, hidden] router
    Tensor bias;                       // [1, E] e_score_correction_bias (noaux_tc only; else empty)
    std::vector<float> bias_host;      // the same, for telemetry
    ExpertSet experts;                 // E routed SwiGLU experts of width moe_intermediate_size
    std::optional<FfnWeights> shared;  // width moe_intermediate_size * n_shared_experts
};

struct DecoderLayerWeights {
    int64_t index = 0;  // the checkpoint's layer index
    Tensor input_norm;  // [1, hidden]
    Tensor post_norm;   // [1, hidden]
    MlaWeights attn;
    bool is_moe = false;
    FfnWeights mlp;  // dense layers
    MoeWeights moe;  // MoE layers
};

struct MtpWeights {
    Tensor enorm;    // [1, hidden] on the embedding
    Tensor hnorm;    // [1, hidden] on the main hidden state
    Weight eh_proj;  // [hidden, 2 * hidden]: columns [0, hidden) embedding, then hidden
    DecoderLayerWeights layer;
    Weight embed;      // the main embedding (shared; a stored copy is an alias of it)
    Tensor head_norm;  // shared_head.norm
    Weight head;       // shared_head.head, else the main lm_head
};

struct DeepseekWeights {
    Weight embed;  // [vocab, hidden]
    std::vector<DecoderLayerWeights> layers;
    Tensor final_norm;              // [1, hidden]
    Weight lm_head;                 // [vocab, hidden]
    std::vector<MtpWeights> mtp;  // the stored MTP modules, depth order (num_hidden_layers + k)
};

class WeightSource;
DeepseekWeights load_deepseek_weights(WeightSource& source);
DeepseekWeights load_deepseek_weights(const Checkpoint& checkpoint, Backend& backend);

}  // namespace moe
