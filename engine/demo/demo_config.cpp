#include "demo/demo_spec.h"

namespace moe::demo {

Json demo_config(const DemoShape& s) {
    return Json{
        {"architectures", {"DeepseekV3ForCausalLM"}},
        {"model_type", "deepseek_v3"},
        {"workbench_demo", true},
        {"workbench_demo_version", kDemoVersion},
        {"workbench_note", "UNTRAINED demo model written by `moe-engine demo`: every weight is deterministic "
                           "pseudo-random noise, so its text is gibberish. The routing it shows is the real "
                           "DeepSeek-V3 computation over those weights. Load a real checkpoint for real answers."},
        {"vocab_size", s.vocab},
        {"hidden_size", s.hidden},
        {"intermediate_size", s.dense_intermediate},
        {"num_hidden_layers", s.layers},
        {"num_attention_heads", s.heads},
        {"num_key_value_heads", s.heads},
        {"max_position_embeddings", s.max_positions},
        {"bos_token_id", 0},
        {"eos_token_id", 1},
        {"hidden_act", "silu"},
        {"attention_bias", false},
        {"tie_word_embeddings", false},
        {"q_lora_rank", s.q_lora},
        {"kv_lora_rank", s.kv_lora},
        {"qk_nope_head_dim", s.qk_nope},
        {"qk_rope_head_dim", s.qk_rope},
        {"v_head_dim", s.v_head},
        {"n_routed_experts", s.experts},
        {"n_shared_experts", s.shared_experts},
        {"num_experts_per_tok", s.experts_per_tok},
        {"moe_intermediate_size", s.moe_intermediate},
        {"n_group", s.groups},
        {"topk_group", s.topk_groups},
        {"topk_method", "noaux_tc"},
        {"scoring_func", "sigmoid"},
        {"norm_topk_prob", true},
        {"routed_scaling_factor", 2.5},
        {"first_k_dense_replace", s.first_k_dense},
        {"moe_layer_freq", 1},
        {"num_nextn_predict_layers", s.mtp_layers},
        {"rms_norm_eps", 1e-6},
        {"rope_theta", 10000.0},
        {"torch_dtype", "bfloat16"},
    };
}

}  // namespace moe::demo
