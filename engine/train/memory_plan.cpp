#include "train/memory_plan.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "io/checkpoint.h"

namespace moe::train {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const ModelConfig& config_of(const TrainableSpec& spec) {
    return spec.checkpoint ? spec.checkpoint->config() : spec.config;
}

// The MTP modules the DeepSeek graph loads (deepseek_weights.cpp: only when the config asks for them).
int64_t mtp_modules_of(const TrainableSpec& spec) {
    const ModelConfig& c = config_of(spec);
    if (!c.is_deepseek() || c.num_nextn_predict_layers <= 0) return 0;
    return spec.checkpoint ? spec.checkpoint->num_mtp_layers() : c.num_nextn_predict_layers;
}

// Collects the tensors of one model in the loaders' order (deepseek_weights.cpp, qwen2_weights.cpp).
class TensorList {
public:
    TensorList(const ModelConfig& c, const std::function<bool(const std::string&)>& has) : c_(c), has_(has) {}

    void matrix(const std::string& name, int64_t rows, int64_t cols, int64_t layer, bool routed = false) {
        out.push_back(ModelTensor{name, rows, cols, false, routed, false, layer});
    }
    void vector(const std::string& name, int64_t n, int64_t layer, bool buffer = false) {
        out.push_back(ModelTensor{name, 1, n, true, false, buffer, layer});
    }
    void ffn(const std::string& p, int64_t inter, int64_t layer, bool routed = false) {
        const int64_t d = c_.hidden_size;
        matrix(p + ".gate_proj.weight", inter, d, layer, routed);
        matrix(p + ".up_proj.weight", inter, d, layer, routed);
        matrix(p + ".down_proj.weight", d, inter, layer, routed);
    }
    void deepseek_layer(int64_t i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        const int64_t d = c_.hidden_size, H = c_.num_attention_heads;
        vector(p + "input_layernorm.weight", d, i);
        vector(p + "post_attention_layernorm.weight", d, i);
        const std::string a = p + "self_attn.";
        if (c_.q_lora_rank > 0) {
            matrix(a + "q_a_proj.weight", c_.q_lora_rank, d, i);
            vector(a + "q_a_layernorm.weight", c_.q_lora_rank, i);
            matrix(a + "q_b_proj.weight", H * c_.qk_head_dim(), c_.q_lora_rank, i);
        } else {
            matrix(a + "q_proj.weight", H * c_.qk_head_dim(), d, i);
        }
        matrix(a + "kv_a_proj_with_mqa.weight", c_.kv_lora_rank + c_.qk_rope_head_dim, d, i);
        vector(a + "kv_a_layernorm.weight", c_.kv_lora_rank, i);
        matrix(a + "kv_b_proj.weight", H * (c_.qk_nope_head_dim + c_.v_head_dim), c_.kv_lora_rank, i);
        matrix(a + "o_proj.weight", d, H * c_.v_head_dim, i);
        if (!c_.is_moe_layer(i)) {
            ffn(p + "mlp", c_.intermediate_size, i);
            return;
        }
        matrix(p + "mlp.gate.weight", c_.n_routed_experts, d, i);
        if (c_.has_routing_bias()) vector(p + "mlp.gate.e_score_correction_bias", c_.n_routed_experts, i, true);
        for (int64_t e = 0; e < c_.n_routed_experts; ++e)
            ffn(p + "mlp.experts." + std::to_string(e), c_.moe_intermediate_size, i, true);
        if (c_.n_shared_experts > 0) ffn(p + "mlp.shared_experts", c_.moe_intermediate_size * c_.n_shared_experts, i);
    }
    void mtp_module(int64_t k) {
        const int64_t i = c_.num_hidden_layers + k, d = c_.hidden_size;
        const std::string p = "model.layers." + std::to_string(i) + ".";
        vector(p + "enorm.weight", d, i);
        vector(p + "hnorm.weight", d, i);
        matrix(p + "eh_proj.weight", d, 2 * d, i);
        deepseek_layer(i);
        vector(p + "shared_head.norm.weight", d, i);
        if (has_(p + "shared_head.head.weight")) matrix(p + "shared_head.head.weight", c_.vocab_size, d, i);
    }
    void qwen2_layer(int64_t i) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        const int64_t d = c_.hidden_size, q = c_.num_attention_heads * c_.head_dim;
        const int64_t kv = c_.num_key_value_heads * c_.head_dim;
        vector(p + "input_layernorm.weight", d, i);
        vector(p + "post_attention_layernorm.weight", d, i);
        matrix(p + "self_attn.q_proj.weight", q, d, i);
        matrix(p + "self_attn.k_proj.weight", kv, d, i);
        matrix(p + "self_attn.v_proj.weight", kv, d, i);
        matrix(p + "self_attn.o_proj.weight", d, q, i);
        vector(p + "self_attn.q_proj.bias", q, i);
        vector(p + "self_attn.k_proj.bias", kv, i);
        vector(p + "self_attn.v_proj.bias", kv, i);
        ffn(p + "mlp", c_.intermediate_size, i);
    }

    std::vector<ModelTensor> out;

private:
    const ModelConfig& c_;
    const std::function<bool(const std::string&)>& has_;
};

// Every checkpoint name the store trains (LoRA adapters excluded: they are no checkpoint tensors).
std::set<std::string> trained_names(const ParameterStore& params) {
    std::set<std::string> names;
    for (const Parameter* p : params.parameters()) {
        if (p->is_lora) continue;
        names.insert(p->name);
        names.insert(p->aliases.begin(), p->aliases.end());
        for (const Parameter::Slice& s : p->slices) names.insert(s.name);
    }
    return names;
}

// "model.layers.{i}...." -> i; -1 for other names.
int64_t layer_of(const std::string& name) {
    const std::string prefix = "model.layers.";
    if (name.rfind(prefix, 0) != 0) return -1;
    return std::stoll(name.substr(prefix.size()));
}

double gib(double bytes) { return bytes / double(int64_t(1) << 30); }

}  // namespace

std::vector<ModelTensor> model_tensors(const ModelConfig& c, int64_t mtp_modules,
                                       const std::function<bool(const std::string&)>& has) {
    TensorList list(c, has);
    const int64_t d = c.hidden_size;
    list.matrix("model.embed_tokens.weight", c.vocab_size, d, -1);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        if (c.is_deepseek())
            list.deepseek_layer(i);
        else
            list.qwen2_layer(i);
    }
    list.vector("model.norm.weight", d, -1);
    if (!(c.tie_word_embeddings && !has("lm_head.weight"))) list.matrix("lm_head.weight", c.vocab_size, d, -1);
    for (int64_t k = 0; c.is_deepseek() && k < mtp_modules; ++k) list.mtp_module(k);
    return list.out;
}

std::vector<ModelTensor> model_tensors(const TrainableSpec& spec) {
    const ModelConfig& c = config_of(spec);
    if (spec.checkpoint)
        return model_tensors(c, mtp_modules_of(spec), [&](const std::string& n) { return spec.checkpoint->has(n); });
    // From scratch: what TrainableSource::has answers.
    return model_tensors(c, mtp_modules_of(spec), [&](const std::string& n) {
        if (n == "lm_head.weight") return !c.tie_word_embeddings;
        return !ends_with(n, "shared_head.head.weight");
    });
}

ParameterCounts count_parameters(const std::vector<ModelTensor>& tensors, const ParameterStore& params) {
    ParameterCounts n;
    for (const ModelTensor& t : tensors) {
        if (t.buffer) continue;
        n.total += t.numel();
        if (t.name == "model.embed_tokens.weight") n.embedding += t.numel();
    }
    for (const Parameter* p : params.parameters()) (p->is_lora ? n.lora : n.trainable) += p->numel();
    return n;
}

const char* const kStepFlopsFormula =
    "FLOPs/step = sum over matmul weights w of f_w * 2 * a_w * rows_w + sum over layers of "
    "12 * H * (d_qk + d_v)/2 * n_seq * T_l(T_l+1)/2; a_w = elements of w (x top_k/E for a routed expert; "
    "LoRA: r*(in+out)), rows_w = n_seq*T (main model and lm_head) or n_seq*(T-k-1) (MTP module k and its "
    "head), f_w = 3 if w is trained (fwd, dgrad, wgrad) else 2 (fwd, dgrad); embeddings, norms and "
    "recomputation not counted; MFU = FLOPs/step / step time / measured bf16 GEMM rate";

StepFlops training_step_flops(const ModelConfig& c, const std::vector<ModelTensor>& tensors,
                              const ParameterStore& params, int64_t n_seq, int64_t T) {
    const int64_t L = c.num_hidden_layers;
    const std::set<std::string> trained = trained_names(params);
    auto rows = [&](int64_t layer) { return double(n_seq) * double(layer < L ? T : T - (layer - L) - 1); };
    const double expert_share =
        c.n_routed_experts > 0 ? double(c.num_experts_per_tok) / double(c.n_routed_experts) : 1.0;
    StepFlops f;
    auto add_matmul = [&](const std::string& name, double active, double r) {
        (trained.count(name) ? f.matmul_trained : f.matmul_frozen) += (trained.count(name) ? 3 : 2) * 2 * active * r;
    };

    int64_t mtp_modules = 0;
    bool head_listed = false;
    std::set<int64_t> own_heads;  // MTP modules with their own shared_head.head
    for (const ModelTensor& t : tensors) {
        if (t.layer >= L) mtp_modules = std::max(mtp_modules, t.layer - L + 1);
        if (ends_with(t.name, "shared_head.head.weight")) own_heads.insert(t.layer);
        if (t.name == "lm_head.weight") head_listed = true;
        if (t.vector || t.buffer || t.name == "model.embed_tokens.weight") continue;  // no matmul (a lookup)
        add_matmul(t.name, double(t.numel()) * (t.routed_expert ? expert_share : 1.0), rows(t.layer));
    }
    // The tied head is the embedding used as a matmul; MTP modules without a head of their own use the main one.
    const std::string head = head_listed ? "lm_head.weight" : "model.embed_tokens.weight";
    const double head_elems = double(c.vocab_size) * double(c.hidden_size);
    if (!head_listed) add_matmul(head, head_elems, rows(-1));
    for (int64_t k = 0; k < mtp_modules; ++k)
        if (!own_heads.count(L + k)) add_matmul(head, head_elems, rows(L + k));

    for (const Parameter* p : params.parameters()) {
        if (!p->is_lora) continue;
        const bool routed = p->name.find(".experts.") != std::string::npos;
        f.lora += 6 * double(p->numel()) * (routed ? expert_share : 1.0) * rows(layer_of(p->name));
    }

    const int64_t H = c.num_attention_heads;
    const double qk = double(c.is_deepseek() ? c.qk_head_dim() : c.head_dim);
    const double v = double(c.is_deepseek() ? c.v_head_dim : c.head_dim);
    for (int64_t layer = 0; layer < L + mtp_modules; ++layer) {
        const double t = layer < L ? double(T) : double(T - (layer - L) - 1);
        f.attention += 12.0 * double(H) * (qk + v) / 2.0 * double(n_seq) * t * (t + 1) / 2.0;
    }
    return f;
}

// ---- memory ---------------------------------------------------------------------------------------

namespace {

// Floats per row one decoder layer keeps for its backward, and what its backward adds at its
// worst point (train_layers.cpp), for the config's layer kind.
struct LayerRowCost {
    double kept = 0;          // all of the layer's saved activations (LayerState)
    double kept_ckpt = 0;     // checkpointed: its output and its routing ids (the input is the previous output)
    double backward = 0;      // gradients and recomputed products alive inside layer_bwd
};

LayerRowCost layer_row_cost(const ModelConfig& c, bool moe, const MemoryPlanOptions& o, bool keep_expert_rows) {
    const double d = double(c.hidden_size), H = double(c.num_attention_heads);
    LayerRowCost r;
    double attn_kept = 0, attn_bwd = 0, ffn_kept = 0, ffn_bwd = 0;
    if (c.is_deepseek()) {
        const double qk = double(c.qk_head_dim()), v = double(c.v_head_dim), kvl = double(c.kv_lora_rank);
        const double rope = double(c.qk_rope_head_dim), nope = double(c.qk_nope_head_dim);
        const double ql = c.q_lora_rank > 0 ? double(c.q_lora_rank) : 0.0;
        // MlaSaved: q_a, q_a_normed, q, ckv, latent, k, v, out, lse
        attn_kept = 2 * ql + H * qk + (kvl + rope) + kvl + H * qk + H * v + H * v + H;
        // d_attn, dq, dk, dv, dkv, dk_pe, d_latent (+ raw), [d_latent_raw ; dk_pe], q_lora grads
        attn_bwd = H * v + 2 * H * qk + H * v + H * (nope + v) + rope + 2 * kvl + (kvl + rope) + 2 * ql;
    } else {
        const double D = double(c.head_dim), kv = double(c.num_key_value_heads) * D;
        attn_kept = H * D + 2 * kv + H * D + H;       // q, k, v, out, lse
        attn_bwd = H * D + H * D + 2 * kv;            // d_attn, dq, dk, dv
    }
    if (moe) {
        const double E = double(c.n_routed_experts), K = double(c.num_experts_per_tok);
        const double I = double(c.moe_intermediate_size), Is = double(c.moe_intermediate_size * c.n_shared_experts);
        // scores, ids + weights, balance d_scores, shared expert g/u/h; kept: per routed slot its
        // gate/up and output rows in bf16 (half a float each)
        ffn_kept = E + 2 * K + (o.balance_loss ? E : 0) + 3 * Is + (keep_expert_rows ? K * (2 * I + d) / 2 : 0.0);
        // d_weights, d_logits, the shared expert's dh/dg/du, and per routed (token, expert) slot the
        // gradients with the slot's input and SwiGLU rows, and, not kept, its recomputed gate/up and output rows
        ffn_bwd = K + E + 3 * Is + K * (keep_expert_rows ? 2.5 * I + 2 * d : 6 * I + 2 * d);
    } else {
        const double I = double(c.intermediate_size);
        ffn_kept = 3 * I;  // g, u, h
        ffn_bwd = 3 * I;   // dh, dg, du
    }
    r.kept = 4 * d + attn_kept + ffn_kept;  // x1, h_mid, x2, h_out + the blocks'
    r.kept_ckpt = d + (moe ? double(c.num_experts_per_tok) : 0.0);
    r.backward = 4 * d + std::max(attn_bwd, ffn_bwd);  // d_out, d_mid, a norm's dx, dx + the larger block
    return r;
}

}  // namespace

MemoryPlan plan_training_memory(const TrainableSpec& spec, const ParameterStore& params, int64_t n_seq,
                                int64_t seq_len, const GraphOptions& graph, const MemoryPlanOptions& o) {
    const ModelConfig& c = config_of(spec);
    const std::vector<ModelTensor> tensors = model_tensors(spec);
    const std::set<std::string> trained = trained_names(params);
    MemoryPlan plan;
    for (const ModelTensor& t : tensors) {
        if (trained.count(t.name)) continue;
        plan.frozen_weights += double(t.numel()) * double(t.vector || t.buffer ? 4 : o.frozen_matrix_bytes);
    }
    for (const Parameter* p : params.parameters()) {
        plan.trainable_masters += 4.0 * double(p->numel());
        if (!p->weight.empty() || !p->slices.empty()) plan.weight_copies += double(o.weight_copy_bytes) * double(p->numel());
    }
    plan.gradients = plan.trainable_masters;
    plan.adamw_moments = 2 * plan.trainable_masters;

    const int64_t L = c.num_hidden_layers, D = mtp_modules_of(spec);
    const double d = double(c.hidden_size), V = double(c.vocab_size);
    const bool ckpt = graph.checkpoint_layers;
    const bool keep_rows = o.expert_rows_kept && !graph.recompute_experts;
    const int64_t chunk = graph.head_chunk_rows > 0 ? graph.head_chunk_rows
                                                    : std::max<int64_t>(1, (int64_t(1) << 26) / c.vocab_size);
    double act_floats = 0, workspace_floats = 0;
    auto head_chunk = [&](double rows) {  // logits + their gradient, the chunk's input and dx rows
        const double n = std::min(rows, double(chunk));
        return 2 * n * V + 2 * n * d;
    };
    auto layers = [&](double rows, int64_t first, int64_t count) {
        for (int64_t i = first; i < first + count; ++i) {
            const LayerRowCost r = layer_row_cost(c, c.is_moe_layer(i), o, keep_rows);
            act_floats += rows * (ckpt ? r.kept_ckpt : r.kept);
            workspace_floats = std::max(workspace_floats, rows * (r.backward + (ckpt ? r.kept : 0.0)));
        }
    };
    const double N = double(n_seq * seq_len);
    act_floats += N * (2 + d + 2 * d);  // positions + segment starts, the embedding output, hn and d_hn
    layers(N, 0, L);
    double head_ws = head_chunk(N);
    for (int64_t k = 0; k < D; ++k) {
        const double Nk = double(n_seq * (seq_len - k - 1));
        // rows, prev_idx; hprev, e, [enorm(e) ; hnorm(hprev)], eh_proj output, out_normed, d_from_next, the head's dx
        act_floats += Nk * (3 + 8 * d);
        layers(Nk, L + k, 1);
        head_ws = std::max(head_ws, head_chunk(Nk));
    }
    plan.activations = 4.0 * act_floats;
    const bool head_wins = head_ws >= workspace_floats;
    plan.workspace = 4.0 * std::max(head_ws, workspace_floats);
    plan.workspace_kind = head_wins ? "lm_head chunk" : (ckpt ? "layer recompute + backward" : "layer backward");
    return plan;
}

Json MemoryPlan::to_json() const {
    return Json{{"frozen_weights_bytes", frozen_weights}, {"trainable_masters_bytes", trainable_masters},
                {"gradients_bytes", gradients},           {"adamw_moments_bytes", adamw_moments},
                {"weight_copies_bytes", weight_copies},   {"activations_bytes", activations},
                {"workspace_bytes", workspace},           {"workspace_kind", workspace_kind},
                {"persistent_bytes", persistent()},       {"peak_bytes", peak()}};
}

std::string MemoryPlan::table() const {
    char buf[1024];
    std::snprintf(buf, sizeof buf,
                  "  frozen weights      %8.2f GiB\n  trainable masters   %8.2f GiB (F32)\n"
                  "  gradients           %8.2f GiB (F32)\n  AdamW moments       %8.2f GiB (2 x masters)\n"
                  "  weight copies       %8.2f GiB (trainable matrices' compute copies)\n"
                  "  activations         %8.2f GiB (one micro-batch, kept for backward)\n"
                  "  workspace           %8.2f GiB (%s)\n  peak                %8.2f GiB\n",
                  gib(frozen_weights), gib(trainable_masters), gib(gradients), gib(adamw_moments),
                  gib(weight_copies), gib(activations), gib(workspace), workspace_kind.c_str(), gib(peak()));
    return buf;
}

}  // namespace moe::train
