// The CUDA backend: the Backend op set on one GPU (kernels in kernels/, GEMMs through cuBLAS).
//
// Precision: weights bf16 on the device (fp8 / f16 / f32 checkpoints converted at load, fp8
// copied as stored and dequantised by its block scales on the device), except an fp8 checkpoint's
// routed experts, kept as stored and dequantised inside the kernels (fp8_experts.h); activations, norms, KV caches and every
// accumulation f32. Few-token products (decode) read f32 activations against bf16 weights in
// hand-written bandwidth-bound kernels; many-token products round the activations to bf16 and run
// cuBLAS bf16 GEMMs with f32 accumulation and f32 output. Router logits always keep f32
// activations (selection must match the reference).
//
// Decode graphs: set_device_inputs() makes embedding, rope and attention read the token ids and
// the position from device memory, so one captured forward replays for every decode step: the
// models' batch-1 forwards go through decode_step() (cuda_step_graph.cpp), the benchmark captures
// its own step (engine/cuda/bench/).
//
// Decode kernels per layer (the fused Backend steps): DeepSeek MLA + MoE 10 (add+norm, q|kv_a
// GEMV, MLA prologue, attention, combine+W_UV, o GEMV, add+norm, router, expert gate/up, expert
// down), Qwen2 9.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cuda/cuda_device.h"
#include "model/backend.h"

typedef struct CUstream_st* cudaStream_t;

namespace moe {

namespace kernels {
struct DecodeAttnArgs;
struct MlaPrepArgs;
struct MoeDecodeArgs;
struct RopeParams;
}  // namespace kernels

namespace cuda {
class DeviceContext;
class DeviceBuffer;
class IdsReadback;
class PinnedBuffer;
class Scratch;
struct WeightBytes;
struct ExpertGroups;
struct CudaExpertSetStorage;
}  // namespace cuda

struct CudaBackendOptions {
    int device = 0;
    // Tests: guard bytes around every tensor and NaN-filled fresh outputs (slower; never in production).
    bool debug_guards = false;
    // Batch-1 decode steps (Backend::decode_step) recorded once per model and replayed as graphs.
    bool step_graphs = true;
    // MLA and GQA prefill run on the tensor cores with their [H, T, S] scores (f32) and
    // probabilities (bf16) materialised while they fit in this many bytes, else on the flash kernel.
    size_t prefill_score_bytes = size_t(3) << 29;  // 1.5 GiB
};

class CudaBackend final : public Backend {
public:
    // Throws cuda.no_device / cuda.driver_too_old / cuda.unsupported_device.
    explicit CudaBackend(const CudaBackendOptions& options = {});
    ~CudaBackend() override;

    std::string name() const override;

    Tensor alloc(int64_t rows, int64_t cols, DType dtype = DType::F32) override;
    Tensor upload(std::span<const float> data, int64_t rows, int64_t cols) override;
    Tensor upload_i32(std::span<const int32_t> data, int64_t rows, int64_t cols) override;
    std::vector<float> download(const Tensor& t) override;
    std::vector<int32_t> download_i32(const Tensor& t) override;
    std::vector<std::vector<int32_t>> download_i32_many(std::span<const Tensor> ts) override;
    Weight load_weight(const WeightMatrix& matrix) override;
    Weight weight_from_f32(std::span<const float> data, int64_t rows, int64_t cols) override;
    ExpertSet make_expert_set(std::vector<FfnWeights> experts) override;

    void add_inplace(Tensor& y, const Tensor& x) override;
    Tensor add(const Tensor& a, const Tensor& b) override;
    Tensor slice_cols(const Tensor& x, int64_t col0, int64_t ncols) override;
    Tensor slice_rows(const Tensor& x, int64_t row0, int64_t nrows) override;
    Tensor concat_cols(const Tensor& a, const Tensor& b) override;
    Tensor concat_rows(std::span<const Tensor> parts) override;
    Tensor mla_attention_rows(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                              const RopeTable& rope, const Weight& kv_b, std::span<Tensor* const> caches,
                              std::span<const int64_t> positions, const MlaDims& dims) override;
    Tensor gqa_attention_rows(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope,
                              std::span<Tensor* const> k_caches, std::span<Tensor* const> v_caches,
                              std::span<const int64_t> positions, const GqaDims& dims) override;

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

    // ---- training (Backend "training" section): backward ops beside their forwards in cuda_<op>.cpp ----
    // Precision: bf16 operands into the tensor cores with f32 accumulation (GEMMs; weight gradients
    // dW += dyᵀ x accumulate in place with beta = 1); norms, router, losses, softmax statistics and
    // the optimiser in f32 (sums of squares in f64). Host syncs: attention reads each distinct
    // seg_start tensor once (cached), the routed-expert ops read the expert ids once per call, and
    // the ops that return host values (balance_loss, expert_counts, cross_entropy, sum_squares) wait
    // for them.
    Weight weight_from_tensor(const Tensor& master) override;
    void refresh_weight(const Weight& w, const Tensor& master) override;
    void refresh_weights_many(std::span<const WeightRefresh> ws) override;
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
    Tensor linear_lora(const Tensor& x, const Weight& w, const Tensor* bias, const Weight& a, const Weight& b,
                       float scale) override;
    Tensor linear_lora_backward(const Tensor& x, const Weight& w, const Weight& a, const Weight& b, float scale,
                                const Tensor& dy, Tensor* dw, Tensor& da, Tensor& db) override;
    std::vector<Tensor> linear_lora_group(const Tensor& x, std::span<const LoraLinear> ps) override;
    Tensor linear_lora_group_backward(const Tensor& x, std::span<const LoraLinear> ps) override;
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

    Tensor router_logits(const Tensor& x, const Weight& gate) override;
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
    double sum_squares_many(std::span<const Tensor* const> xs) override;
    void adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& step) override;
    void adamw_update_many(std::span<const AdamWParam> params, const AdamWStep& step) override;
    void zero_many(std::span<Tensor* const> xs) override;

    // Fused decode steps (few tokens; more tokens take the Backend defaults).
    std::vector<Tensor> linear_multi(const Tensor& x, std::span<const Weight* const> weights,
                                     std::span<const Tensor* const> biases) override;
    Tensor mla_attention_from_projections(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                          const RopeTable& rope, const Weight& kv_b, Tensor& cache, int64_t start_pos,
                                          const MlaDims& dims) override;
    Tensor gqa_attention_from_projections(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope, Tensor& k_cache,
                                          Tensor& v_cache, int64_t start_pos, const GqaDims& dims) override;
    Tensor moe_block(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params,
                     const ExpertSet& experts, const FfnWeights* shared, RouterOutput& routing) override;

    // Decode steps as replayed graphs (cuda_step_graph.cpp).
    std::vector<HostTensor> decode_step(const void* owner, const StepInputs& in, const StepBody& body) override;
    void forget_steps(const void* owner) override;
    // The GPU's name and free / total memory (cudaMemGetInfo; cuda_device_memory.cpp).
    std::optional<DeviceMemory> device_memory() const override;

    // ---- beyond the Backend interface ------------------------------------------------------
    const cuda::CudaDeviceInfo& device() const;
    cudaStream_t stream() const;
    void synchronize();
    // Debug mode: the number of tensors whose guard bytes were overwritten (0 when all is well).
    int64_t damaged_guards();

    // Greedy sampling on the device (Backend::argmax_rows): out [rows, 1] I32 = argmax of each row
    // (ties: lowest index).
    Tensor argmax_rows(const Tensor& logits) override;
    // Writes the argmax of logits row `row` to device memory (decode graphs).
    void argmax_to(const Tensor& logits, int64_t row, int32_t* device_out);
    // Temperature sampling (Gumbel-max) of logits row 0 into device memory; *step_counter (device)
    // selects the noise and is incremented, so graph replays draw fresh samples.
    void sample_to(const Tensor& logits, float temperature, uint64_t seed, int32_t* step_counter, int32_t* device_out);
    // Sampling with the host Sampler's processing inside a decode step (Backend::make_token_sampler;
    // cuda_sampling.cpp, kernels/sampling.cu): parameters, history flags and draw index on the device.
    std::unique_ptr<TokenSampler> make_token_sampler(int64_t vocab) override;

    // Decode-graph mode: token ids (d_tokens [T]) and the position of row 0 (*d_pos) come from
    // device memory; host token values and start_pos are then ignored by the kernels. nullptr, nullptr
    // returns to host mode.
    void set_device_inputs(const int32_t* d_tokens, const int32_t* d_pos);

    // Synthetic weights made on the device (benchmarks): uniform in [-scale, scale), bf16.
    Weight random_weight(int64_t rows, int64_t cols, uint64_t seed, float scale) override;
    // f32 [rows, cols] uniform in [center - scale, center + scale).
    Tensor random_tensor(int64_t rows, int64_t cols, uint64_t seed, float center, float scale) override;
    // Synthetic expert set: E experts of [inter, hidden] / [hidden, inter], made in place (bf16, or
    // fp8 with 128x128 blocks of one scale after set_random_experts_fp8(true) where the shapes allow).
    ExpertSet random_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed, float scale) override;
    void set_random_experts_fp8(bool on) { random_experts_fp8_ = on; }
    // fp8 checkpoints' routed experts stay fp8 on the device (cuda_fp8_experts.cpp) unless
    // MOE_FP8_EXPERTS=0 or their shapes do not suit the kernels; every other weight is bf16.
    ExpertSet load_expert_set(const std::vector<WeightMatrix>& gate_up_down) override;

    // Routing telemetry: cumulative expert hits counted on the device by route() through `gate`.
    // expert_load() reads them now (synchronises); request/poll copy them on a side stream into
    // pinned memory without stalling the compute stream.
    std::vector<uint64_t> expert_load(const Weight& gate);
    void request_expert_load(const Weight& gate);
    bool poll_expert_load(const Weight& gate, std::vector<uint64_t>& out);

    // Bytes of weights held on the device (for memory reports).
    size_t weight_bytes() const;

    // Shared with the op files (engine/cuda/cuda_*.cpp).
    const std::shared_ptr<cuda::DeviceContext>& context() const { return ctx_; }

private:
    Tensor make(int64_t rows, int64_t cols, DType dtype = DType::F32);  // uninitialised (NaN in debug mode)
    ExpertSet random_fp8_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed, float scale,
                                    float down_scale);
    const float* inv_freq_on_device(const RopeTable& table);
    // y [T, out] = x_bf16 [T, in] · Wᵀ through cuBLAS (f32 accumulation; f32 output, or bf16 when
    // bf16_out, row stride ldy).
    void gemm_bf16(const uint16_t* x, int64_t T, int64_t in, const uint16_t* w, int64_t out, void* y, int64_t ldy,
                   bool bf16_out = false);
    Tensor linear_from_bf16(const uint16_t* X, int64_t T, int64_t in, const uint16_t* w, int64_t out, const float* bias);
    Tensor linear_many(const Tensor& x, const uint16_t* w, int64_t out, const float* bias);
    // linear_lora's GEMMs from X, x [T, in] already in bf16; the backward's into dx (written when
    // dx_beta is 0, accumulated when 1).
    Tensor lora_forward_bf16(const uint16_t* X, int64_t T, const Weight& w, const Tensor* bias, const Weight& a,
                             const Weight& b, float scale);
    void lora_backward_bf16(const uint16_t* X, int64_t T, const LoraLinear& p, Tensor& dx, float dx_beta);
    std::vector<Tensor> linear_many_multi(const Tensor& x, std::span<const Weight* const> weights,
                                          std::span<const Tensor* const> biases);
    // out [T, H] = the routed experts' weighted sum (+ out's values when accumulate: the shared expert's).
    void moe_prefill(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts, Tensor& out, bool accumulate);
    // out [T, H] = Σ_k w_k · expert(x) (+ out when accumulate) over the grouped rows of g, one fp8
    // expert dequantised at a time.
    void moe_prefill_fp8_per_expert(const Tensor& x, const cuda::ExpertGroups& g, const cuda::CudaExpertSetStorage& es,
                                    const Tensor& weights, Tensor& out, bool accumulate);
    Tensor mla_prefill(const Tensor& q, const Weight& kv_b, const Tensor& cache, int64_t start_pos, const MlaDims& d);
    Tensor mla_prefill_flash(const Tensor& q, const Weight& kv_b, const Tensor& cache, int64_t start_pos,
                             const MlaDims& d);
    // The split-K attention and the combine fused with W_UV, for any decode arguments (one
    // sequence, or a batch's rows with per-row caches).
    Tensor mla_decode(kernels::DecodeAttnArgs a, const Weight& kv_b, const MlaDims& d);
    // The MLA decode prologue's arguments for q [T, H (nope + rope)] and ckv [T, kv_lora + rope]
    // into q_abs [T, H, kv_lora + rope]; the caller says where the cache rows go.
    kernels::MlaPrepArgs mla_prep_args(const Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                       const RopeTable& rope, const Weight& kv_b, const MlaDims& d, float* q_abs);
    Tensor mla_decode(const float* q_abs, const Weight& kv_b, const Tensor& cache, int64_t T, int64_t start_pos,
                      const MlaDims& d);
    Tensor gqa_prefill(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos, const GqaDims& d);
    Tensor gqa_prefill_flash(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos,
                             const GqaDims& d);
    Tensor gqa_decode(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos, const GqaDims& d);
    // The split-K decode attention with its combine into a.out (one sequence, or a batch's rows).
    void run_decode_attention(kernels::DecodeAttnArgs a);
    kernels::RopeParams rope_params(const RopeTable& table);
    // The tensor-core flash attention (training and prefill) for these head widths, and its prefill.
    static bool use_tc_flash(int64_t qk_dim, int64_t v_dim);
    Tensor prefill_flash_tc(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t T, int64_t start_pos,
                            int64_t H, int group, int64_t qk_dim, int64_t v_dim, float scale);
    // Training attention: the blocks of query rows of a seg_start tensor (cuda_attention.cpp).
    struct SegPlan;
    std::shared_ptr<const SegPlan> seg_plan(const Tensor& seg_start);
    // A bf16 copy of an f32 tensor (x [rows, cols] -> scratch), for GEMM operands.
    std::unique_ptr<cuda::Scratch> to_bf16(const Tensor& x, const char* what);
    void run_moe_decode(const Tensor& x, kernels::MoeDecodeArgs& a, Tensor& out);
    // Routing of more tokens than the fused decode kernels take: its ids start for the host at
    // once (ids_readback.h); download_i32 of that tensor then waits for that copy alone.
    void start_ids_readback(const Tensor& expert_ids);
    struct LoadReadback;

    std::shared_ptr<cuda::DeviceContext> ctx_;
    std::map<std::vector<float>, std::shared_ptr<cuda::DeviceBuffer>> rope_tables_;
    std::map<const WeightStorage*, std::shared_ptr<LoadReadback>> load_readbacks_;
    const int32_t* dev_tokens_ = nullptr;
    const int32_t* dev_pos_ = nullptr;
    std::shared_ptr<cuda::WeightBytes> weight_bytes_;
    bool random_experts_fp8_ = false;
    struct StepGraph;
    bool step_graphs_ = true;
    size_t prefill_score_bytes_ = 0;
    std::map<const void*, std::shared_ptr<StepGraph>> steps_;
    std::vector<std::shared_ptr<const SegPlan>> seg_plans_;  // most recent last, a few kept
    std::unique_ptr<cuda::IdsReadback> ids_readback_;
    std::unique_ptr<cuda::PinnedBuffer> download_staging_;  // download_i32_many's, grown as needed
};

// For the CLI's --backend choice: the CUDA backend on device 0 (throws as the constructor does).
std::unique_ptr<Backend> make_cuda_backend();
// "" when make_cuda_backend() can work here, else why not ("cuda.no_device: ...").
std::string cuda_unavailable_reason();

}  // namespace moe
