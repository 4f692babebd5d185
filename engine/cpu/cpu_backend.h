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
};

}  // namespace moe
