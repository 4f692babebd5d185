// The CPU reference backend: plain loops, fp32 math and accumulation, OpenMP across rows. It is the
// oracle the CUDA backend is checked against op by op, so readability wins over speed.
//
// One file per op family (cpu_<basename>.cpp, sharing the basename with kernels/<basename>.cu and
// tests/model/<basename>_test.cpp): elementwise, linear (+ embedding), rmsnorm, rope, attention,
// router, moe.
#pragma once

#include "model/backend.h"

namespace moe {

class CpuBackend final : public Backend {
public:
    // Checkpoint weights are read from the mmapped file and converted to f32 at every use (a 16B
    // bf16 model never needs its f32 copy in RAM); up to this many bytes of them get one f32 copy at
    // load instead, so a small model (the demo's fp8 weights) decodes without converting every row
    // of every weight per token.
    static constexpr int64_t kDefaultF32CopyBudget = int64_t(512) << 20;
    explicit CpuBackend(int64_t f32_copy_budget_bytes = kDefaultF32CopyBudget)
        : f32_copy_left_(f32_copy_budget_bytes) {}

    std::string name() const override { return "cpu"; }

    Tensor alloc(int64_t rows, int64_t cols, DType dtype = DType::F32) override;
    Tensor upload(std::span<const float> data, int64_t rows, int64_t cols) override;
    Tensor upload_i32(std::span<const int32_t> data, int64_t rows, int64_t cols) override;
    std::vector<float> download(const Tensor& t) override;
    std::vector<int32_t> download_i32(const Tensor& t) override;
    Weight load_weight(const WeightMatrix& matrix) override;
    Weight weight_from_f32(std::span<const float> data, int64_t rows, int64_t cols) override;
    ExpertSet make_expert_set(std::vector<FfnWeights> experts) override;

    void add_inplace(Tensor& y, const Tensor& x) override;
    Tensor slice_cols(const Tensor& x, int64_t col0, int64_t ncols) override;
    Tensor slice_rows(const Tensor& x, int64_t row0, int64_t nrows) override;
    Tensor concat_cols(const Tensor& a, const Tensor& b) override;
    Tensor concat_rows(std::span<const Tensor> parts) override;

    Tensor embedding(const Weight& table, std::span<const int32_t> tokens) override;
    Tensor linear(const Tensor& x, const Weight& w, const Tensor* bias = nullptr) override;

    Tensor rmsnorm(const Tensor& x, const Tensor& weight, float eps) override;
    Tensor add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps) override;

    void rope(Tensor& x, const RopeTable& table, const RopeSpan& span, int64_t start_pos) override;

    Tensor mla_attention(const Tensor& q, const Tensor& latent, const Tensor& k_pe, const Weight& kv_b, Tensor& cache,
                         int64_t start_pos, const MlaDims& dims) override;
    Tensor gqa_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                         int64_t start_pos, const GqaDims& dims) override;

    RouterOutput route(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params) override;

    Tensor ffn(const Tensor& x, const FfnWeights& w) override;
    Tensor moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts) override;

    // ---- training: backward ops beside their forwards in the same cpu_<op>.cpp ----------------
    Weight weight_from_tensor(const Tensor& master) override;
    void refresh_weight(const Weight& w, const Tensor& master) override;
    ExpertSet expert_set_from_tensors(const Tensor& gate, const Tensor& up, const Tensor& down,
                                      int64_t n_experts) override;
    void refresh_expert_set(const ExpertSet& set, const Tensor& gate, const Tensor& up, const Tensor& down) override;

    void scale_add(Tensor& y, const Tensor& x, float a) override;
    void scale_inplace(Tensor& x, float a) override;
    void zero(Tensor& x) override;
    Tensor gather_rows(const Tensor& x, const Tensor& idx) override;
    void scatter_add_rows(const Tensor& src, const Tensor& idx, Tensor& dst) override;
    Tensor dropout(const Tensor& x, float p, uint64_t seed) override;

    Tensor linear_backward_input(const Tensor& dy, const Weight& w) override;
    void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw) override;
    void sum_rows_into(const Tensor& dy, Tensor& db) override;
    void embedding_backward(const Tensor& dy, std::span<const int32_t> tokens, Tensor& dtable) override;

    Tensor rmsnorm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                            Tensor* dweight) override;
    void rope_rows(Tensor& x, const RopeTable& table, const RopeSpan& span, const Tensor& positions,
                   bool inverse) override;

    AttentionSaved attention_train(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& seg_start,
                                   const AttentionDims& dims) override;
    AttentionGrads attention_train_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const AttentionSaved& saved, const Tensor& d_out, const Tensor& seg_start,
                                            const AttentionDims& dims) override;

    void mla_split_kv(const Tensor& kv, const Tensor& k_pe, const MlaDims& dims, Tensor& k, Tensor& v) override;
    void mla_split_kv_backward(const Tensor& dk, const Tensor& dv, const MlaDims& dims, Tensor& dkv,
                               Tensor& dk_pe) override;

    RouterOutput route_from_logits(const Tensor& logits, const Tensor* bias, const RouterParams& params,
                                   Tensor& scores) override;
    Tensor route_backward(const Tensor& scores, const RouterOutput& routing, const Tensor& d_weights,
                          const Tensor* d_scores, const RouterParams& params) override;
    BalanceLossResult balance_loss(const Tensor& scores, const Tensor& expert_ids, int64_t rows_per_sequence,
                                   int64_t top_k, float coeff) override;
    std::vector<int64_t> expert_counts(const Tensor& expert_ids, int64_t n_experts) override;

    Tensor swiglu(const Tensor& g, const Tensor& u) override;
    void swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du) override;
    Tensor moe_experts_train(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts,
                             const ExpertLora* lora, std::shared_ptr<ExpertRows>* keep = nullptr) override;
    Tensor moe_experts_backward(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts,
                                const ExpertLora* lora, const Tensor& dy, Tensor& d_weights, ExpertGrads* grads,
                                ExpertLoraGrads* lora_grads, const ExpertRows* kept = nullptr) override;

    CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, float scale) override;
    double sum_squares(const Tensor& x) override;
    void adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& step) override;

private:
    int64_t f32_copy_left_;  // bytes of f32 weight copies load_weight may still make
};

}  // namespace moe
