// The weights of a Qwen2 checkpoint (R1-Distill-Qwen, doc §7), as backend handles.
// Names: model.layers.L.self_attn.{q,k,v,o}_proj.weight, {q,k,v}_proj.bias,
// mlp.{gate,up,down}_proj.weight, input_layernorm / post_attention_layernorm; model.norm, lm_head
// (absent when tie_word_embeddings).
#pragma once

#include <vector>

#include "model/backend.h"

namespace moe {

class Checkpoint;
class WeightSource;

struct GqaLayerWeights {
    Tensor input_norm, post_norm;   // [1, hidden]
    Weight q, k, v, o;              // q [Hq*D, hidden], k/v [Hkv*D, hidden], o [hidden, Hq*D]
    Tensor q_bias, k_bias, v_bias;  // [1, Hq*D], [1, Hkv*D], [1, Hkv*D]
    FfnWeights mlp;
};

struct Qwen2Weights {
    Weight embed;  // [vocab, hidden]
    std::vector<GqaLayerWeights> layers;
    Tensor final_norm;  // [1, hidden]
    Weight lm_head;     // [vocab, hidden]; the embedding when tied
};

Qwen2Weights load_qwen2_weights(WeightSource& source);

}  // namespace moe
