// The Qwen2 training graph (R1-Distill-Qwen): embedding → decoder layers (GQA with q/k/v biases,
// NeoX RoPE, SwiGLU MLP) → final norm → lm_head (tied to the embedding when the config says so)
// + CE. No MoE, no MTP.
#include <memory>

#include "model/qwen2_weights.h"
#include "model/rope_table.h"
#include "train/graph_common.h"
#include "train/trainable_source.h"

namespace moe::train {

namespace {

struct LayerState {
    Tensor h_in, x1, h_mid, x2;
    GqaSaved attn;
    FfnSaved ffn;
};

class Qwen2TrainGraph final : public TrainGraph {
public:
    Qwen2TrainGraph(TrainableSpec spec, ParameterStore& params, const GraphOptions& options)
        : params_(params), options_(options) {
        TrainableSource source(std::move(spec), params);
        config_ = source.config();
        weights_ = load_qwen2_weights(source);
        rope_ = make_rope_table(config_.rope, config_.head_dim);
        rope_.layout = RopeLayout::NeoxHalves;
        gqa_.dims = GqaDims{config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim,
                            float(config_.softmax_scale())};
        gqa_.rope = &rope_;
    }

    const ModelConfig& config() const override { return config_; }
    int64_t mtp_depth() const override { return 0; }

    MicroBatchLosses forward_backward(const MicroBatch& b, const LossScales& sc) override {
        const LayerContext c = context();
        Backend& be = c.be;
        const BatchRows rows = upload_rows(be, b);
        Tensor h = be.embedding(weights_.embed, b.tokens);
        std::vector<LayerState> states(weights_.layers.size());
        for (size_t l = 0; l < weights_.layers.size(); ++l)
            h = layer_fwd(c, weights_.layers[l], rows, h, states[l], !c.checkpoint_layers);
        const Tensor hn = be.rmsnorm(h, weights_.final_norm, c.eps);
        HeadLoss main;
        const Tensor d_hn = head_ce(c, hn, weights_.lm_head, b.targets, sc.ce, options_.head_chunk_rows, main);
        Tensor d_h = rmsnorm_bwd(c, h, weights_.final_norm, c.eps, d_hn);
        for (size_t l = weights_.layers.size(); l-- > 0;) d_h = layer_bwd(c, weights_.layers[l], rows, states[l], d_h);
        if (Tensor* de = params_.grad_of(weights_.embed)) be.embedding_backward(d_h, b.tokens, *de);
        MicroBatchLosses out;
        out.ce = main.sum;
        out.ce_tokens = main.tokens;
        return out;
    }

    std::vector<float> evaluate(const MicroBatch& b, std::map<int64_t, std::vector<int64_t>>* loads) override {
        const LayerContext c = context();
        const BatchRows rows = upload_rows(c.be, b);
        Tensor h = c.be.embedding(weights_.embed, b.tokens);
        for (const GqaLayerWeights& w : weights_.layers) {
            LayerState s;
            h = layer_fwd(c, w, rows, h, s, false);
        }
        if (loads) loads->clear();
        return head_nll(c, c.be.rmsnorm(h, weights_.final_norm, c.eps), weights_.lm_head, b.targets,
                        options_.head_chunk_rows);
    }

    std::vector<RoutingBiasRef> routing_biases() override { return {}; }

private:
    LayerContext context() const {
        return LayerContext{params_.backend(), params_, float(config_.rms_norm_eps), options_.checkpoint_layers};
    }

    Tensor layer_fwd(const LayerContext& c, const GqaLayerWeights& w, const BatchRows& rows, const Tensor& h,
                     LayerState& s, bool keep) const {
        Backend& be = c.be;
        s = LayerState{};
        s.h_in = h;
        s.x1 = be.rmsnorm(h, w.input_norm, c.eps);
        s.h_mid = be.add(h, gqa_fwd(c, gqa_, rows, s.x1, w, s.attn));
        s.x2 = be.rmsnorm(s.h_mid, w.post_norm, c.eps);
        Tensor h_out = be.add(s.h_mid, ffn_fwd(c, s.x2, w.mlp, s.ffn));
        if (!keep) {
            const Tensor h_in = s.h_in;
            s = LayerState{};
            s.h_in = h_in;
        }
        return h_out;
    }

    Tensor layer_bwd(const LayerContext& c, const GqaLayerWeights& w, const BatchRows& rows, LayerState& s,
                     const Tensor& d_out) const {
        Backend& be = c.be;
        if (s.x1.empty()) {  // a checkpointed layer: recompute its activations from the kept input
            const Tensor h_in = s.h_in;
            layer_fwd(c, w, rows, h_in, s, true);
        }
        const Tensor d_x2 = ffn_bwd(c, w.mlp, s.ffn, d_out);
        const Tensor d_mid = be.add(d_out, rmsnorm_bwd(c, s.h_mid, w.post_norm, c.eps, d_x2));
        const Tensor d_x1 = gqa_bwd(c, gqa_, rows, w, s.attn, d_mid);
        Tensor d_h = be.add(d_mid, rmsnorm_bwd(c, s.h_in, w.input_norm, c.eps, d_x1));
        s = LayerState{};
        return d_h;
    }

    ParameterStore& params_;
    GraphOptions options_;
    ModelConfig config_;
    Qwen2Weights weights_;
    RopeTable rope_;
    GqaShape gqa_;
};

}  // namespace

std::unique_ptr<TrainGraph> make_qwen2_train_graph(TrainableSpec spec, ParameterStore& params,
                                                   const GraphOptions& options) {
    return std::make_unique<Qwen2TrainGraph>(std::move(spec), params, options);
}

}  // namespace moe::train
