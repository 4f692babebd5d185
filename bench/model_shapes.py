"""The model shapes of `moe-engine bench` (engine/cuda/bench/bench_shapes.cpp) as HF config values,
shared by the transformers baselines (hf_reference.py, hf_train_reference.py). No torch needed."""

# The same config values as engine/cuda/bench/bench_shapes.cpp.
SHAPES = {
    "moonlight-16b-a3b": dict(
        model_type="deepseek_v3", hidden_size=2048, intermediate_size=11264, moe_intermediate_size=1408,
        num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16, q_lora_rank=None, kv_lora_rank=512,
        qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128, n_routed_experts=64, n_shared_experts=2,
        num_experts_per_tok=6, n_group=1, topk_group=1, topk_method="noaux_tc", scoring_func="sigmoid",
        norm_topk_prob=True, routed_scaling_factor=2.446, first_k_dense_replace=1, moe_layer_freq=1,
        num_nextn_predict_layers=0, rms_norm_eps=1e-5, rope_theta=50000.0, max_position_embeddings=8192,
        vocab_size=163840, tie_word_embeddings=False, hidden_act="silu", attention_bias=False),
    "deepseek-v2-lite": dict(
        model_type="deepseek_v2", vocab_size=102400, hidden_size=2048, intermediate_size=10944,
        moe_intermediate_size=1408, num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16,
        q_lora_rank=None, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
        n_routed_experts=64, n_shared_experts=2, num_experts_per_tok=6, first_k_dense_replace=1, moe_layer_freq=1,
        n_group=1, topk_group=1, topk_method="greedy", scoring_func="softmax", norm_topk_prob=False,
        routed_scaling_factor=1.0, max_position_embeddings=163840, rms_norm_eps=1e-6, rope_theta=10000,
        rope_scaling=dict(type="yarn", factor=40, original_max_position_embeddings=4096, beta_fast=32, beta_slow=1,
                          mscale=0.707, mscale_all_dim=0.707),
        tie_word_embeddings=False, hidden_act="silu"),
    "r1-distill-qwen-1.5b": dict(
        model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, max_position_embeddings=131072, rms_norm_eps=1e-6, rope_theta=10000,
        use_sliding_window=False, tie_word_embeddings=False, vocab_size=151936, hidden_act="silu"),
    "r1-distill-qwen-7b": dict(
        model_type="qwen2", hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
        num_key_value_heads=4, max_position_embeddings=131072, rms_norm_eps=1e-6, rope_theta=10000,
        use_sliding_window=False, tie_word_embeddings=False, vocab_size=152064, hidden_act="silu"),
}
