// The DeepSeek training graph (V3/R1/Moonlight, V2/V2-Lite): embedding → decoder layers (MLA +
// dense FFN or MoE) → final norm → lm_head + CE, plus the MTP modules (docs/training.md):
//   module k, row i (i < T−k−1): x = eh_proj([enorm(embed(t_{i+k+1})) ; hnorm(hprev_i)]),
//   hprev = the post-final-norm main hidden (k = 0) or module k−1's block output (k > 0),
//   one decoder block, shared_head.norm, head → predicts t_{i+k+2}.
// Backward runs the MTP modules last-to-first (each hands its hprev gradient to the one before,
// module 0 to the main model's final hidden), then the main layers in reverse.
#include <algorithm>
#include <memory>
#include <optional>

#include "core/error.h"
#include "model/deepseek_weights.h"
#include "model/rope_table.h"
#include "train/graph_common.h"
#include "train/step_profile.h"
#include "train/trainable_source.h"

namespace moe::train {

namespace {

constexpr float kLatentNormEps = 1e-6f;  // q_a / kv_a layernorms (as the inference graph)

// One decoder layer's saved state.
struct LayerState {
    Tensor h_in, x1, h_mid, x2;
    MlaSaved attn;
    FfnSaved ffn;
    MoeSaved moe;
};

// One MTP module's saved state for a micro-batch.
struct MtpState {
    BatchRows rows;
    Tensor prev_idx;                 // [N_k, 1] rows of the previous hidden this module reads
    std::vector<int32_t> targets;    // [N_k]
    Tensor hprev, e, x_cat;          // gathered hidden, embedding, [enorm(e) ; hnorm(hprev)]
    LayerState layer;
    Tensor h_out, out_normed;
    Tensor d_from_next;              // gradient of h_out from module k+1 (accumulated)
};

class DeepseekTrainGraph final : public TrainGraph {
public:
    DeepseekTrainGraph(TrainableSpec spec, ParameterStore& params, const GraphOptions& options)
        : params_(params), options_(options) {
        TrainableSource source(std::move(spec), params);
        config_ = source.config();
        weights_ = load_deepseek_weights(source);
        rope_ = make_rope_table(config_.rope, config_.qk_rope_head_dim);
        mla_.dims = MlaDims{config_.num_attention_heads, config_.qk_nope_head_dim, config_.qk_rope_head_dim,
                            config_.v_head_dim, config_.kv_lora_rank, float(config_.softmax_scale())};
        mla_.rope = &rope_;
        mla_.latent_eps = kLatentNormEps;
        router_ = router_params_from_config(config_);
    }

    const ModelConfig& config() const override { return config_; }
    int64_t mtp_depth() const override { return int64_t(weights_.mtp.size()); }

    MicroBatchLosses forward_backward(const MicroBatch& b, const LossScales& scales) override;
    std::vector<float> evaluate(const MicroBatch& b, std::map<int64_t, std::vector<int64_t>>* loads) override;
    std::vector<RoutingBiasRef> routing_biases() override;

private:
    LayerContext context() const {
        return LayerContext{params_.backend(), params_, float(config_.rms_norm_eps), options_.checkpoint_layers,
                            !options_.recompute_experts};
    }
    MoeShape moe_shape(int64_t rows_per_sequence, float balance) const {
        return MoeShape{router_, rows_per_sequence, balance};
    }
    Tensor layer_fwd(const LayerContext& c, const DecoderLayerWeights& w, const BatchRows& rows, const Tensor& h,
                     float balance, LayerState& s, bool keep) const;
    Tensor layer_bwd(const LayerContext& c, const DecoderLayerWeights& w, const BatchRows& rows, LayerState& s,
                     float balance, const Tensor& d_out) const;
    // A MoE layer's routing, noted as its forward runs (the balance loss share at once, the ids
    // kept); collect_loads reads every noted layer's ids in one go once the device has the
    // micro-batch's work queued (a read per layer was a sync per layer).
    struct NotedIds {
        int64_t layer = 0;
        Tensor ids;
    };
    void note_moe(const DecoderLayerWeights& w, const LayerState& s, MicroBatchLosses& out,
                  std::vector<NotedIds>& noted) const;
    void collect_loads(const std::vector<NotedIds>& noted, MicroBatchLosses& out) const;
    void mtp_forward(const LayerContext& c, const MicroBatch& b, int64_t k, const Tensor& prev, const LossScales& sc,
                     MtpState& s, MicroBatchLosses& out, std::vector<NotedIds>& noted) const;

    ParameterStore& params_;
    GraphOptions options_;
    ModelConfig config_;
    DeepseekWeights weights_;
    RopeTable rope_;
    MlaShape mla_;
    RouterParams router_;
};

// h_out = h_mid + FFN(norm(h_mid)),  h_mid = h + MLA(norm(h)). With `keep` false only h_in is kept
// (activation checkpointing: layer_bwd reruns the forward first).
Tensor DeepseekTrainGraph::layer_fwd(const LayerContext& c, const DecoderLayerWeights& w, const BatchRows& rows,
                                     const Tensor& h, float balance, LayerState& s, bool keep) const {
    Backend& be = c.be;
    const float eps = c.eps;
    s = LayerState{};
    s.h_in = h;
    s.x1 = be.rmsnorm(h, w.input_norm, eps);
    {
        const StepProfile::Scope p("mla_fwd");
        s.h_mid = be.add(h, mla_fwd(c, mla_, rows, s.x1, w.attn, s.attn));
    }
    s.x2 = be.rmsnorm(s.h_mid, w.post_norm, eps);
    const StepProfile::Scope p(w.is_moe ? "moe_fwd" : "ffn_fwd");
    LayerContext cm = c;
    cm.keep_expert_rows = c.keep_expert_rows && keep;  // a checkpointed forward drops the rows at once
    const Tensor f = w.is_moe ? moe_fwd(cm, moe_shape(rows.seq_len, balance), s.x2, w.moe, s.moe)
                              : ffn_fwd(c, s.x2, w.mlp, s.ffn);
    Tensor h_out = be.add(s.h_mid, f);
    if (!keep) {
        const Tensor h_in = s.h_in;
        const double bal = s.moe.balance_loss;
        const Tensor ids = s.moe.routing.expert_ids;
        s = LayerState{};
        s.h_in = h_in;
        s.moe.balance_loss = bal;        // what the step reports
        s.moe.routing.expert_ids = ids;  // the loads
    }
    return h_out;
}

Tensor DeepseekTrainGraph::layer_bwd(const LayerContext& c, const DecoderLayerWeights& w, const BatchRows& rows,
                                     LayerState& s, float balance, const Tensor& d_out) const {
    Backend& be = c.be;
    if (s.x1.empty()) {  // a checkpointed layer: recompute its activations from the kept input
        const StepProfile::Scope p("recompute");
        const Tensor h_in = s.h_in;
        layer_fwd(c, w, rows, h_in, balance, s, true);
    }
    Tensor d_x2, d_x1;
    {
        const StepProfile::Scope p(w.is_moe ? "moe_bwd" : "ffn_bwd");
        d_x2 = w.is_moe ? moe_bwd(c, moe_shape(rows.seq_len, balance), w.moe, s.moe, d_out)
                        : ffn_bwd(c, w.mlp, s.ffn, d_out);
    }
    const Tensor d_mid = be.add(d_out, rmsnorm_bwd(c, s.h_mid, w.post_norm, c.eps, d_x2));
    {
        const StepProfile::Scope p("mla_bwd");
        d_x1 = mla_bwd(c, mla_, rows, w.attn, s.attn, d_mid);
    }
    Tensor d_h = be.add(d_mid, rmsnorm_bwd(c, s.h_in, w.input_norm, c.eps, d_x1));
    s = LayerState{};  // free the activations as soon as they are used
    return d_h;
}

void DeepseekTrainGraph::note_moe(const DecoderLayerWeights& w, const LayerState& s, MicroBatchLosses& out,
                                  std::vector<NotedIds>& noted) const {
    if (!w.is_moe) return;
    out.balance[w.index] += s.moe.balance_loss;
    noted.push_back(NotedIds{w.index, s.moe.routing.expert_ids});
}

void DeepseekTrainGraph::collect_loads(const std::vector<NotedIds>& noted, MicroBatchLosses& out) const {
    const StepProfile::Scope p("collect_loads");
    std::vector<Tensor> ids;
    for (const NotedIds& n : noted) ids.push_back(n.ids);
    const std::vector<std::vector<int32_t>> host = params_.backend().download_i32_many(ids);
    for (size_t i = 0; i < noted.size(); ++i) {  // the loads and a hash of the selection, per layer
        uint64_t& h = out.selection[noted[i].layer];
        std::vector<int64_t>& load = out.loads[noted[i].layer];
        load.resize(size_t(router_.n_experts), 0);
        for (int32_t id : host[i]) {
            h = (h ^ uint64_t(id + 1)) * 1099511628211ull;
            if (id < 0 || id >= router_.n_experts) throw Error("train.bad_routing", "", "an expert id is out of range");
            ++load[size_t(id)];
        }
    }
}

// Module k over rows i < T−k−1 of every sequence; `prev` is the hidden it reads (main post-norm
// hidden for k = 0, module k−1's block output otherwise, whose sequences have T−k rows).
void DeepseekTrainGraph::mtp_forward(const LayerContext& c, const MicroBatch& b, int64_t k, const Tensor& prev,
                                     const LossScales& sc, MtpState& s, MicroBatchLosses& out,
                                     std::vector<NotedIds>& noted) const {
    Backend& be = c.be;
    const MtpWeights& m = weights_.mtp[size_t(k)];
    const int64_t T = b.seq_len, Tk = T - k - 1, prev_len = T - k;
    MicroBatch mb;
    mb.n_seq = b.n_seq;
    mb.seq_len = Tk;
    std::vector<int32_t> idx;
    for (int64_t q = 0; q < b.n_seq; ++q)
        for (int64_t i = 0; i < Tk; ++i) {
            const int64_t r = q * T + i, last = r + k + 1;
            mb.tokens.push_back(b.tokens[size_t(r + k + 1)]);
            const bool valid = i + k + 2 < T && b.targets[size_t(last)] >= 0 &&
                               b.seg_start[size_t(last)] == b.seg_start[size_t(r)];
            mb.targets.push_back(valid ? b.tokens[size_t(r + k + 2)] : -1);
            mb.positions.push_back(b.positions[size_t(r)]);
            mb.seg_start.push_back(b.seg_start[size_t(r)]);
            idx.push_back(int32_t(q * prev_len + i));
        }
    s.rows = upload_rows(be, mb);
    s.targets = mb.targets;
    s.prev_idx = be.upload_i32(idx, int64_t(idx.size()), 1);
    s.hprev = be.gather_rows(prev, s.prev_idx);
    s.e = be.embedding(m.embed, mb.tokens);
    s.x_cat = be.concat_cols(be.rmsnorm(s.e, m.enorm, c.eps), be.rmsnorm(s.hprev, m.hnorm, c.eps));
    const Tensor h = linear_fwd(c, s.x_cat, m.eh_proj);
    s.h_out = layer_fwd(c, m.layer, s.rows, h, sc.balance, s.layer, !c.checkpoint_layers);
    note_moe(m.layer, s.layer, out, noted);
    s.out_normed = be.rmsnorm(s.h_out, m.head_norm, c.eps);
    s.d_from_next = be.alloc(s.h_out.rows(), s.h_out.cols());
}

MicroBatchLosses DeepseekTrainGraph::forward_backward(const MicroBatch& b, const LossScales& sc) {
    const LayerContext c = context();
    Backend& be = c.be;
    const BatchRows rows = upload_rows(be, b);
    MicroBatchLosses out;
    const int64_t D = mtp_depth();
    out.mtp.assign(size_t(D), 0.0);
    out.mtp_tokens.assign(size_t(D), 0);

    // main forward
    Tensor h = be.embedding(weights_.embed, b.tokens);
    std::vector<LayerState> states(weights_.layers.size());
    std::vector<NotedIds> noted;
    for (size_t l = 0; l < weights_.layers.size(); ++l) {
        const StepProfile::Scope p("layers_fwd");
        h = layer_fwd(c, weights_.layers[l], rows, h, sc.balance, states[l], !c.checkpoint_layers);
        note_moe(weights_.layers[l], states[l], out, noted);
    }
    const Tensor h_final = h;
    const Tensor hn = be.rmsnorm(h_final, weights_.final_norm, c.eps);
    HeadLoss main;
    Tensor d_hn;
    {
        const StepProfile::Scope p("head_ce");
        d_hn = head_ce(c, hn, weights_.lm_head, b.targets, sc.ce, options_.head_chunk_rows, main);
    }
    out.ce = main.sum;
    out.ce_tokens = main.tokens;

    // MTP modules: all forwards, then backwards last to first
    std::vector<MtpState> mtp(static_cast<size_t>(D));
    std::vector<Tensor> d_heads(static_cast<size_t>(D));
    std::optional<StepProfile::Scope> mtp_scope;
    mtp_scope.emplace("mtp");
    for (int64_t k = 0; k < D; ++k) {
        mtp_forward(c, b, k, k == 0 ? hn : mtp[size_t(k - 1)].h_out, sc, mtp[size_t(k)], out, noted);
        HeadLoss l;
        d_heads[size_t(k)] = head_ce(c, mtp[size_t(k)].out_normed, weights_.mtp[size_t(k)].head, mtp[size_t(k)].targets,
                                     sc.mtp.empty() ? 0.0f : sc.mtp[size_t(k)], options_.head_chunk_rows, l);
        out.mtp[size_t(k)] = l.sum;
        out.mtp_tokens[size_t(k)] = l.tokens;
    }
    for (int64_t k = D - 1; k >= 0; --k) {
        MtpState& s = mtp[size_t(k)];
        const MtpWeights& m = weights_.mtp[size_t(k)];
        Tensor d_hout = s.d_from_next;
        be.add_inplace(d_hout, rmsnorm_bwd(c, s.h_out, m.head_norm, c.eps, d_heads[size_t(k)]));
        const Tensor d_h = layer_bwd(c, m.layer, s.rows, s.layer, sc.balance, d_hout);
        const Tensor d_x = linear_bwd(c, s.x_cat, m.eh_proj, nullptr, d_h);
        const int64_t d = config_.hidden_size;
        const Tensor d_e = rmsnorm_bwd(c, s.e, m.enorm, c.eps, be.slice_cols(d_x, 0, d));
        if (Tensor* de = params_.grad_of(m.embed)) be.embedding_backward(d_e, s.rows.tokens, *de);
        const Tensor d_prev = rmsnorm_bwd(c, s.hprev, m.hnorm, c.eps, be.slice_cols(d_x, d, d));
        be.scatter_add_rows(d_prev, s.prev_idx, k == 0 ? d_hn : mtp[size_t(k - 1)].d_from_next);
        s = MtpState{};
    }
    mtp_scope.reset();

    // main backward
    Tensor d_h = rmsnorm_bwd(c, h_final, weights_.final_norm, c.eps, d_hn);
    for (size_t l = weights_.layers.size(); l-- > 0;) {
        const StepProfile::Scope p("layers_bwd");
        d_h = layer_bwd(c, weights_.layers[l], rows, states[l], sc.balance, d_h);
    }
    if (Tensor* de = params_.grad_of(weights_.embed)) be.embedding_backward(d_h, b.tokens, *de);
    collect_loads(noted, out);
    return out;
}

std::vector<float> DeepseekTrainGraph::evaluate(const MicroBatch& b, std::map<int64_t, std::vector<int64_t>>* loads) {
    const LayerContext c = context();
    Backend& be = c.be;
    const BatchRows rows = upload_rows(be, b);
    MicroBatchLosses out;
    Tensor h = be.embedding(weights_.embed, b.tokens);
    std::vector<NotedIds> noted;
    for (const DecoderLayerWeights& w : weights_.layers) {
        LayerState s;
        h = layer_fwd(c, w, rows, h, 0.0f, s, false);
        note_moe(w, s, out, noted);
    }
    if (loads) {
        collect_loads(noted, out);
        *loads = out.loads;
    }
    return head_nll(c, be.rmsnorm(h, weights_.final_norm, c.eps), weights_.lm_head, b.targets,
                    options_.head_chunk_rows);
}

std::vector<RoutingBiasRef> DeepseekTrainGraph::routing_biases() {
    std::vector<RoutingBiasRef> refs;
    auto add = [&](DecoderLayerWeights& w) {
        if (w.is_moe && !w.moe.bias.empty()) refs.push_back(RoutingBiasRef{w.index, &w.moe.bias, &w.moe.bias_host});
    };
    for (DecoderLayerWeights& w : weights_.layers) add(w);
    for (MtpWeights& m : weights_.mtp) add(m.layer);
    return refs;
}

}  // namespace

std::unique_ptr<TrainGraph> make_deepseek_train_graph(TrainableSpec spec, ParameterStore& params,
                                                      const GraphOptions& options) {
    return std::make_unique<DeepseekTrainGraph>(std::move(spec), params, options);
}

}  // namespace moe::train
