#include "hub/memory_estimate.h"

#include <fstream>
#include <sstream>

namespace moe::hub {
namespace {

// Adds up tensors: elements, and bytes in an fp8 checkpoint (projection matrices 1 byte + fp32 block
// scales, everything else bf16).
struct Tally {
    int64_t block_rows = 128, block_cols = 128;
    int64_t params = 0;
    uint64_t fp8 = 0;

    void matrix(int64_t rows, int64_t cols, int64_t count = 1) {  // a quantisable projection [rows, cols]
        const int64_t blocks = ((rows + block_rows - 1) / block_rows) * ((cols + block_cols - 1) / block_cols);
        params += count * rows * cols;
        fp8 += uint64_t(count) * uint64_t(rows * cols + 4 * blocks);
    }
    void plain(int64_t elements, int64_t count = 1) {  // embeddings, router, norms, biases: kept in bf16
        params += count * elements;
        fp8 += uint64_t(count) * uint64_t(elements) * 2;
    }
};

void deepseek_attention(const ModelConfig& c, Tally& t) {
    const int64_t h = c.hidden_size, heads = c.num_attention_heads;
    if (c.q_lora_rank > 0) {
        t.matrix(c.q_lora_rank, h);                       // q_a_proj
        t.plain(c.q_lora_rank);                           // q_a_layernorm
        t.matrix(heads * c.qk_head_dim(), c.q_lora_rank); // q_b_proj
    } else {
        t.matrix(heads * c.qk_head_dim(), h);             // q_proj
    }
    t.matrix(c.kv_lora_rank + c.qk_rope_head_dim, h);     // kv_a_proj_with_mqa
    t.plain(c.kv_lora_rank);                              // kv_a_layernorm
    t.matrix(heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);  // kv_b_proj
    t.matrix(h, heads * c.v_head_dim);                    // o_proj
}

void deepseek_layer(const ModelConfig& c, int64_t layer, Tally& t) {
    const int64_t h = c.hidden_size;
    t.plain(h, 2);  // input_layernorm, post_attention_layernorm
    deepseek_attention(c, t);
    if (!c.is_moe_layer(layer)) {
        t.matrix(c.intermediate_size, h, 3);  // gate/up [inter, h]; down [h, inter] has the same blocks count
        return;
    }
    t.plain(c.n_routed_experts * h);                                  // router gate
    if (c.has_routing_bias()) t.plain(c.n_routed_experts);            // e_score_correction_bias
    t.matrix(c.moe_intermediate_size, h, 3 * c.n_routed_experts);     // routed experts
    if (c.n_shared_experts > 0) t.matrix(c.moe_intermediate_size * c.n_shared_experts, h, 3);
}

void qwen2_layer(const ModelConfig& c, Tally& t) {
    const int64_t h = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    t.plain(h, 2);
    t.matrix(q, h);
    t.matrix(kv, h, 2);
    t.plain(q + 2 * kv);  // q/k/v biases
    t.matrix(h, q);
    t.matrix(c.intermediate_size, h, 3);
}

}  // namespace

ParameterCount count_parameters(const ModelConfig& c) {
    Tally main, mtp;
    if (c.fp8) {
        main.block_rows = mtp.block_rows = c.fp8->block_rows;
        main.block_cols = mtp.block_cols = c.fp8->block_cols;
    }
    main.plain(c.vocab_size * c.hidden_size);                         // embed_tokens
    if (!c.tie_word_embeddings) main.plain(c.vocab_size * c.hidden_size);  // lm_head
    main.plain(c.hidden_size);                                        // final norm
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) c.is_deepseek() ? deepseek_layer(c, l, main) : qwen2_layer(c, main);
    if (c.is_deepseek()) {
        for (int64_t k = 0; k < c.num_nextn_predict_layers; ++k) {
            deepseek_layer(c, c.num_hidden_layers + k, mtp);
            mtp.plain(c.hidden_size, 3);                               // enorm, hnorm, shared_head.norm
            mtp.matrix(c.hidden_size, 2 * c.hidden_size);              // eh_proj
            mtp.plain(c.vocab_size * c.hidden_size, 2);                // stored copies of embed_tokens, shared_head.head
        }
    }
    return {main.params, mtp.params, main.fp8 + mtp.fp8};
}

uint64_t kv_cache_bytes_per_token(const ModelConfig& c) {
    const uint64_t per_layer = c.is_deepseek() ? uint64_t(c.kv_lora_rank + c.qk_rope_head_dim)
                                               : uint64_t(2 * c.num_key_value_heads * c.head_dim);
    return per_layer * uint64_t(c.num_hidden_layers) * 2;  // bf16
}

std::optional<uint64_t> mem_available_bytes() {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("MemAvailable:", 0) != 0) continue;
        std::istringstream ss(line.substr(13));
        uint64_t kib = 0;
        if (ss >> kib) return kib * 1024;
    }
    return std::nullopt;
}

MemoryEstimate estimate_memory(const ModelConfig& c, uint64_t stored_weight_bytes, int64_t ctx,
                               const std::optional<GpuDevice>& gpu) {
    MemoryEstimate e;
    e.architecture = c.model_type;
    e.params = count_parameters(c);
    e.weights_stored = stored_weight_bytes;
    e.weights_bf16 = uint64_t(e.params.main + e.params.mtp) * 2;
    e.weights_fp8 = e.params.fp8_bytes;
    e.kv_bytes_per_token = kv_cache_bytes_per_token(c);
    e.ctx = ctx;
    e.kv_bytes = e.kv_bytes_per_token * uint64_t(std::max<int64_t>(0, ctx));
    e.total_bytes = (stored_weight_bytes > 0 ? stored_weight_bytes : e.weights_bf16) + e.kv_bytes;
    e.ram_available = mem_available_bytes();
    e.ram_fits = e.ram_available && *e.ram_available >= e.total_bytes;
    if (gpu) e.gpu = GpuFit{gpu->name, gpu->free_bytes, gpu->total_bytes, gpu->free_bytes >= e.total_bytes};
    return e;
}

Json estimate_to_json(const MemoryEstimate& e) {
    Json gpu = nullptr;
    if (e.gpu)
        gpu = {{"name", e.gpu->name}, {"free_bytes", e.gpu->free_bytes}, {"total_bytes", e.gpu->total_bytes}, {"fits", e.gpu->fits}};
    return {{"architecture", e.architecture},
            {"params", e.params.main + e.params.mtp},
            {"params_main", e.params.main},
            {"params_mtp", e.params.mtp},
            {"weights_bytes", {{"stored", e.weights_stored}, {"bf16", e.weights_bf16}, {"fp8", e.weights_fp8}}},
            {"kv_bytes_per_token", e.kv_bytes_per_token},
            {"ctx", e.ctx},
            {"kv_bytes", e.kv_bytes},
            {"total_bytes", e.total_bytes},
            {"ram", {{"available_bytes", e.ram_available.value_or(0)}, {"fits", e.ram_fits}}},
            {"gpu", gpu}};
}

}  // namespace moe::hub
