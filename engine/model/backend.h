// The op set the model graphs are written against. One implementation per device: the CPU
// reference (cpu_backend.h, the oracle) and CUDA (kernels/). Each op is at the granularity a GPU
// backend implements as one fused kernel (or one GEMM), and each op family has one basename shared
// by its CPU file, CUDA kernel and test: rmsnorm, rope, linear, attention, router, moe, elementwise.
//
// Conventions: activations are 2-D row-major Tensors, one row per token ([T, width]); weights are
// nn.Linear-layout Weights [out, in]; ops return new tensors unless they say "in place". Math is in
// fp32 with fp32 accumulation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "model/rope_table.h"
#include "model/sampling_params.h"
#include "model/tensor.h"
#include "model/train_types.h"

namespace moe {

class WeightMatrix;
class TokenSampler;

// Where RoPE applies inside a [T, n_heads * head_stride] tensor: per head, the rope_dim columns
// starting at `offset` (DeepSeek q: heads H, stride 192, offset 128; k_pe: heads 1, stride 64, offset 0).
struct RopeSpan {
    int64_t n_heads = 1;
    int64_t head_stride = 0;
    int64_t offset = 0;
};

// Multi-head latent attention shapes (doc §3.3).
struct MlaDims {
    int64_t n_heads = 0;
    int64_t qk_nope = 0;      // 128
    int64_t qk_rope = 0;      // 64
    int64_t v_head = 0;       // 128
    int64_t kv_lora = 0;      // 512: the cached latent c
    float softmax_scale = 0;  // includes the YaRN mscale_all_dim² factor
    int64_t qk_head() const { return qk_nope + qk_rope; }
    int64_t cache_cols() const { return kv_lora + qk_rope; }  // cache row = [c (post-norm) ; roped k_pe]
};

// Grouped-query attention shapes (Qwen2).
struct GqaDims {
    int64_t n_heads = 0;
    int64_t n_kv_heads = 0;
    int64_t head_dim = 0;
    float softmax_scale = 0;
};

// How the routed-expert weights get routed_scaling_factor (doc §3.5/§3.6).
enum class RouterScaling {
    Always,                 // V3 / R1 / Moonlight: "must multiply the scaling factor"
    OnlyWhenNotNormalised,  // V2 remote code: scale only when the top-k weights are not renormalised
};

struct RouterParams {
    int64_t n_experts = 0;
    int64_t top_k = 0;
    int64_t n_group = 1;
    int64_t topk_group = 1;
    ScoringFunc scoring = ScoringFunc::Sigmoid;
    TopkMethod method = TopkMethod::NoauxTc;
    bool norm_topk_prob = false;
    float routed_scaling_factor = 1.0f;
    RouterScaling scaling = RouterScaling::Always;
    // Value given to the experts of groups that were not kept before the final top-k. HF and the
    // remote code use 0.0 (what we match); DeepSeek's own code uses -inf. They differ only when fewer
    // than top_k experts in the kept groups have a positive choice score.
    float group_mask_value = 0.0f;
};

// The router parameters a DeepSeek config implies.
RouterParams router_params_from_config(const ModelConfig& config);

class Backend;

// One parameter of Backend::adamw_update_many: its value, gradient and moments, and its own decay.
struct AdamWParam {
    Tensor* p = nullptr;
    const Tensor* g = nullptr;
    Tensor* m = nullptr;
    Tensor* v = nullptr;
    float weight_decay = 0;
};

// One trainable weight of Backend::refresh_weights_many and the F32 master it is refreshed from.
struct WeightRefresh {
    const Weight* weight = nullptr;
    const Tensor* master = nullptr;
};

// What a backend's training forward of the routed experts keeps for their backward, so that the
// backward does not recompute the forward's products (Backend::moe_experts_train's `keep`). Each
// backend keeps what it likes; the CPU reference keeps nothing and recomputes.
class ExpertRows {
public:
    virtual ~ExpertRows() = default;
};
// The pre-norm residual step with a deferred add: h += pending (when not empty), then
// rmsnorm(h). The graphs keep each layer's FFN output pending so that the next norm adds it
// (one fused kernel instead of an add and a norm).
Tensor add_pending_rmsnorm(Backend& backend, Tensor& h, const Tensor& pending, const Tensor& weight, float eps);

// One LoRA'd linear of a group sharing its input x (Backend::linear_lora_group): W [out, in] and
// the adapter A [r, in], B [out, r] with its scale; for the backward, dy [T, out] and the gradients
// accumulated (dw when not null, da and db always).
struct LoraLinear {
    const Weight* w = nullptr;
    const Weight* a = nullptr;
    const Weight* b = nullptr;
    float scale = 0.0f;
    const Tensor* dy = nullptr;
    Tensor* dw = nullptr;
    Tensor* da = nullptr;
    Tensor* db = nullptr;
};

// Per token, the chosen experts in selection order and their final weights (bias-free scores,
// normalised and scaled as the config says).
struct RouterOutput {
    Tensor expert_ids;  // [T, top_k] I32
    Tensor weights;     // [T, top_k] F32
};

// One SwiGLU FFN: down(silu(gate x) * up x). Dense MLPs, routed experts and shared experts alike.
struct FfnWeights {
    Weight gate;  // [inter, hidden]
    Weight up;    // [inter, hidden]
    Weight down;  // [hidden, inter]
};

// A tensor's contents on the host (F32 in f32, I32 in i32).
struct HostTensor {
    int64_t rows = 0, cols = 0;
    DType dtype = DType::F32;
    std::vector<float> f32;
    std::vector<int32_t> i32;
};

// The routed experts of one MoE layer, prepared once by the backend (a GPU backend packs pointer
// tables or stacks weights here).
class ExpertSetStorage {
public:
    virtual ~ExpertSetStorage() = default;
};
struct ExpertSet {
    std::shared_ptr<const ExpertSetStorage> storage;
    int64_t n_experts = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;

    // ---- memory ---------------------------------------------------------------------------
    // Zero-filled [rows, cols] of F32 or I32.
    virtual Tensor alloc(int64_t rows, int64_t cols, DType dtype = DType::F32) = 0;
    virtual Tensor upload(std::span<const float> data, int64_t rows, int64_t cols) = 0;
    virtual Tensor upload_i32(std::span<const int32_t> data, int64_t rows, int64_t cols) = 0;
    virtual std::vector<float> download(const Tensor& t) = 0;
    virtual std::vector<int32_t> download_i32(const Tensor& t) = 0;
    // Several I32 tensors at once (CUDA: the copies queued together, one wait for the device).
    virtual std::vector<std::vector<int32_t>> download_i32_many(std::span<const Tensor> ts);
    // A weight read from the checkpoint. The Checkpoint must outlive the weight (CPU: it stays mmapped).
    virtual Weight load_weight(const WeightMatrix& matrix) = 0;
    // A weight from host f32 data [rows, cols] (tests, derived weights).
    virtual Weight weight_from_f32(std::span<const float> data, int64_t rows, int64_t cols) = 0;
    virtual ExpertSet make_expert_set(std::vector<FfnWeights> experts) = 0;
    // A layer's routed experts from the checkpoint: gate, up, down of expert 0, then of expert 1, ...
    // The default loads each with load_weight and stacks them (make_expert_set); the CUDA backend
    // keeps fp8 experts as stored (dequantised inside its kernels).
    virtual ExpertSet load_expert_set(const std::vector<WeightMatrix>& gate_up_down);
    // Deterministic pseudo-random weights for benchmarks and from-scratch models: uniform in
    // [-scale, scale) ([center - scale, center + scale) for tensors). The defaults draw on the host
    // (kernels/counter_rng.h); a GPU backend fills device memory directly.
    virtual Weight random_weight(int64_t rows, int64_t cols, uint64_t seed, float scale);
    virtual Tensor random_tensor(int64_t rows, int64_t cols, uint64_t seed, float center, float scale);
    virtual ExpertSet random_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed, float scale);

    // ---- elementwise ------------------------------------------------------------------------
    // y += x (same shape), in place.
    virtual void add_inplace(Tensor& y, const Tensor& x) = 0;
    // a + b (same shape) as a new tensor: the residual sums of the training graph. The default is
    // a zeroed tensor plus add_inplace twice (0 + a + b: the same bits as one add); a GPU backend
    // does it in one pass.
    virtual Tensor add(const Tensor& a, const Tensor& b);
    // Columns [col0, col0 + ncols) of x [T, C] -> [T, ncols].
    virtual Tensor slice_cols(const Tensor& x, int64_t col0, int64_t ncols) = 0;
    // Rows [row0, row0 + nrows) of x [R, C] -> [nrows, C].
    virtual Tensor slice_rows(const Tensor& x, int64_t row0, int64_t nrows) = 0;
    // [a | b]: a [T, Ca], b [T, Cb] -> [T, Ca + Cb].
    virtual Tensor concat_cols(const Tensor& a, const Tensor& b) = 0;
    // The parts [R_i, C] stacked in order -> [sum R_i, C] (a batched step's per-sequence rows).
    virtual Tensor concat_rows(std::span<const Tensor> parts) = 0;

    // ---- embedding / linear -----------------------------------------------------------------
    // table [vocab, hidden] -> [T, hidden]; throws on ids outside [0, vocab).
    virtual Tensor embedding(const Weight& table, std::span<const int32_t> tokens) = 0;
    // x [T, in] · Wᵀ (W [out, in]) (+ bias [1, out]) -> [T, out].
    virtual Tensor linear(const Tensor& x, const Weight& w, const Tensor* bias = nullptr) = 0;

    // ---- rmsnorm ----------------------------------------------------------------------------
    // weight [1, C] * x / sqrt(mean(x²) + eps), per row of x [T, C].
    virtual Tensor rmsnorm(const Tensor& x, const Tensor& weight, float eps) = 0;
    // residual += x (in place), then returns rmsnorm(residual): the pre-norm residual step.
    virtual Tensor add_rmsnorm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps) = 0;

    // ---- rope -------------------------------------------------------------------------------
    // Rotates x [T, n_heads * head_stride] in place; row t is at position start_pos + t.
    virtual void rope(Tensor& x, const RopeTable& table, const RopeSpan& span, int64_t start_pos) = 0;

    // ---- attention --------------------------------------------------------------------------
    // MLA. Writes rows [start_pos, start_pos + T) of `cache` [capacity, kv_lora + qk_rope] with
    // [latent ; k_pe], then attends causally: the query at position p sees cache rows 0..p.
    //   q      [T, H * (qk_nope + qk_rope)]  head-major, nope first, rope part already rotated
    //   latent [T, kv_lora]                  post-kv_a_layernorm c
    //   k_pe   [T, qk_rope]                  rotated, shared by all heads
    //   kv_b   [H * (qk_nope + v_head), kv_lora]
    // returns [T, H * v_head] (the o_proj input).
    virtual Tensor mla_attention(const Tensor& q, const Tensor& latent, const Tensor& k_pe, const Weight& kv_b,
                                 Tensor& cache, int64_t start_pos, const MlaDims& dims) = 0;
    // GQA with a KV cache. q [T, Hq * D]; k, v [T, Hkv * D] (k already rotated). Writes rows
    // [start_pos, start_pos + T) of k_cache / v_cache [capacity, Hkv * D]; returns [T, Hq * D].
    virtual Tensor gqa_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                                 int64_t start_pos, const GqaDims& dims) = 0;

    // ---- router -----------------------------------------------------------------------------
    // x [T, hidden], gate [E, hidden] (logits in fp32), bias [1, E] e_score_correction_bias or
    // nullptr (used for SELECTION only, never in the weights).
    virtual RouterOutput route(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params) = 0;

    // ---- moe --------------------------------------------------------------------------------
    // SwiGLU FFN: down(silu(gate x) * up x). x [T, hidden] -> [T, hidden].
    virtual Tensor ffn(const Tensor& x, const FfnWeights& w) = 0;
    // Σ_k weight[t,k] · Expert_{id[t,k]}(x[t]) for every token. x [T, hidden] -> [T, hidden].
    virtual Tensor moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts) = 0;

    // ---- fused steps (optional) --------------------------------------------------------------
    // Each is a sequence of the ops above that a GPU backend runs as fewer kernels at decode time
    // (every kernel launch costs microseconds whatever its bytes). The defaults (backend.cpp) ARE
    // that sequence, so the CPU reference stays the oracle and a backend overrides only what it fuses.

    // Projections of the same x: outs[i] = linear(x, *weights[i], biases[i]) (biases[i] may be null).
    virtual std::vector<Tensor> linear_multi(const Tensor& x, std::span<const Weight* const> weights,
                                             std::span<const Tensor* const> biases);
    // MLA from the raw projections: q [T, H * (nope + rope)] not yet rotated (its contents are
    // unspecified afterwards: the default rotates it in place, a fused kernel may not),
    // ckv [T, kv_lora + qk_rope] = the kv_a output. latent = rmsnorm(ckv[:, :kv_lora], kv_a_norm,
    // norm_eps), k_pe = rope(ckv[:, kv_lora:]), then mla_attention.
    virtual Tensor mla_attention_from_projections(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                                  const RopeTable& rope, const Weight& kv_b, Tensor& cache,
                                                  int64_t start_pos, const MlaDims& dims);
    // A batched decode step's MLA (Model::decode_batch): row b of q [B, H * (nope + rope)] and
    // ckv [B, kv_lora + qk_rope] is one token of its own sequence, at positions[b] of caches[b]
    // ([capacity, kv_lora + qk_rope] each, distinct). Row b of the result [B, H * v_head] is what
    // mla_attention_from_projections gives for that row alone, which is what the default runs,
    // row by row; a GPU runs all rows in one launch of each kernel. q is unspecified afterwards.
    virtual Tensor mla_attention_rows(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                      const RopeTable& rope, const Weight& kv_b, std::span<Tensor* const> caches,
                                      std::span<const int64_t> positions, const MlaDims& dims);
    // A batched decode step's GQA, like mla_attention_rows: row b of q, k, v is one token of its
    // own sequence, at positions[b] of k_caches[b] / v_caches[b]; row b of the result is what
    // gqa_attention_from_projections gives for that row alone (the default runs exactly that).
    virtual Tensor gqa_attention_rows(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope,
                                      std::span<Tensor* const> k_caches, std::span<Tensor* const> v_caches,
                                      std::span<const int64_t> positions, const GqaDims& dims);
    // GQA from the raw projections: q and k not yet rotated, then gqa_attention. Their contents are
    // unspecified afterwards (the default rotates both in place).
    virtual Tensor gqa_attention_from_projections(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope,
                                                  Tensor& k_cache, Tensor& v_cache, int64_t start_pos,
                                                  const GqaDims& dims);
    // One MoE FFN block: route, Σ_k w_k Expert_k(x), plus the shared expert when `shared` is set.
    // `routing` receives the router's choice (telemetry).
    virtual Tensor moe_block(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params,
                             const ExpertSet& experts, const FfnWeights* shared, RouterOutput& routing);

    // ---- decode steps (optional) -------------------------------------------------------------
    // One forward of one sequence's few new tokens: `body` runs it for in.tokens [T] at positions
    // in.pos … in.pos + T − 1 (and in.f32, an F32 matrix [T, in.f32_cols] such as an MTP module's
    // previous hidden states, which body gets as a tensor; an empty tensor when there is none) and
    // returns the tensors to read back; decode_step returns their contents in the same order, read
    // in one go after the step. A GPU backend may record body once per `owner` (a device graph fed
    // the token ids, first position and F32 rows from device memory) and replay the recording for
    // later steps, so body must do the same ops every time, keep no tensor it makes, and read
    // nothing back itself; an owner's recording is for one T. The default uploads, runs body and
    // downloads. forget_steps(owner) drops a recording (the owner's buffers are gone).
    struct StepInputs {
        std::span<const int32_t> tokens;
        int64_t pos = 0;
        std::span<const float> f32;  // [T, f32_cols] row-major, or empty
        int64_t f32_cols = 0;
    };
    using StepBody = std::function<std::vector<Tensor>(const Tensor& f32_input)>;
    virtual std::vector<HostTensor> decode_step(const void* owner, const StepInputs& in, const StepBody& body);
    virtual void forget_steps(const void* owner);

    // ---- training (train_types.h) ------------------------------------------------------------
    // Backward ops sit beside their forwards in each backend's <op> file. Gradient outputs named
    // d* are ACCUMULATED (+=) into caller-owned F32 tensors; a null pointer skips that gradient.
    // The defaults (backend.cpp) throw engine.unsupported naming the op and the backend.

    // Weights made from F32 master tensors. CPU: the weight reads the master's memory (no copy);
    // a GPU backend keeps its own low-precision copy, refreshed by refresh_weight after an update.
    virtual Weight weight_from_tensor(const Tensor& master);
    virtual void refresh_weight(const Weight& w, const Tensor& master);
    // refresh_weight of many weights after an optimiser step; the default loops, a GPU backend
    // converts them all in one launch (a LoRA run refreshes hundreds of small adapters).
    virtual void refresh_weights_many(std::span<const WeightRefresh> ws);
    // The routed experts of one layer from stacked masters (ExpertGrads' layout): gate/up
    // [E * inter, hidden], down [E * hidden, inter].
    virtual ExpertSet expert_set_from_tensors(const Tensor& gate, const Tensor& up, const Tensor& down,
                                              int64_t n_experts);
    virtual void refresh_expert_set(const ExpertSet& set, const Tensor& gate, const Tensor& up, const Tensor& down);

    // Elementwise helpers. y += a · x; x *= a; x = 0; rows of x [R, C] picked by idx [n, 1] I32 -> [n, C];
    // dst[idx[i]] += src[i] (rows); [T, C] -> dropout with a counter-based mask (element i of the
    // tensor kept with probability 1 - p, scaled by 1/(1-p); the same seed gives the same mask on
    // every backend, so dropout(dy) is dropout's backward).
    virtual void scale_add(Tensor& y, const Tensor& x, float a);
    virtual void scale_inplace(Tensor& x, float a);
    virtual void zero(Tensor& x);
    virtual Tensor gather_rows(const Tensor& x, const Tensor& idx);
    virtual void scatter_add_rows(const Tensor& src, const Tensor& idx, Tensor& dst);
    virtual Tensor dropout(const Tensor& x, float p, uint64_t seed);

    // linear: dx [T, in] = dy [T, out] · W; dw [out, in] += dyᵀ x; db [1, out] += Σ_t dy.
    virtual Tensor linear_backward_input(const Tensor& dy, const Weight& w);
    virtual void linear_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw);
    virtual void sum_rows_into(const Tensor& dy, Tensor& db);
    // A linear with a LoRA adapter and no dropout, as one op: y [T, out] = x Wᵀ (+ bias) +
    // scale · (x Aᵀ) Bᵀ with A [r, in], B [out, r]. Its backward returns dx and accumulates
    // da [r, in] += scale · (dy B)ᵀ x, db [out, r] += scale · dyᵀ (x Aᵀ), and dw += dyᵀ x when dw
    // is not null (a bias gradient stays the caller's: sum_rows_into). The defaults compose the
    // ops above (backend.cpp); a GPU backend rounds x and dy to bf16 once each and accumulates the
    // adapter's products in place instead of through temporaries.
    virtual Tensor linear_lora(const Tensor& x, const Weight& w, const Tensor* bias, const Weight& a, const Weight& b,
                               float scale);
    virtual Tensor linear_lora_backward(const Tensor& x, const Weight& w, const Weight& a, const Weight& b, float scale,
                                        const Tensor& dy, Tensor* dw, Tensor& da, Tensor& db);
    // Several LoRA'd linears of one x (q | kv_a, gate | up), no bias: y_i = linear_lora(x, p_i);
    // the backward returns Σ_i dx_i and accumulates each one's gradients as linear_lora_backward
    // does. The defaults loop over those; a GPU backend rounds x to bf16 once for all of them and
    // accumulates the dx terms in place (no temporaries, no sums).
    virtual std::vector<Tensor> linear_lora_group(const Tensor& x, std::span<const LoraLinear> ps);
    virtual Tensor linear_lora_group_backward(const Tensor& x, std::span<const LoraLinear> ps);
    // dtable [vocab, hidden] += scatter of dy [T, hidden] to the rows of `tokens`.
    virtual void embedding_backward(const Tensor& dy, std::span<const int32_t> tokens, Tensor& dtable);

    // rmsnorm: dx for y = rmsnorm(x, weight, eps) given dy; dweight [1, C] += Σ_t dy ⊙ x̂ (null: frozen).
    virtual Tensor rmsnorm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                                    Tensor* dweight);

    // rope with a position per row (packed samples restart at 0): positions [T, 1] I32. inverse
    // rotates by −θ, which is rope's backward (the rotation is orthogonal; attention_factor scales both).
    virtual void rope_rows(Tensor& x, const RopeTable& table, const RopeSpan& span, const Tensor& positions,
                           bool inverse);

    // Attention over whole sequences: q [T, Hq*dqk], k [T, Hkv*dqk], v [T, Hkv*dv]; row r attends
    // to rows seg_start[r]..r (seg_start [T, 1] I32, absolute row indices).
    virtual AttentionSaved attention_train(const Tensor& q, const Tensor& k, const Tensor& v,
                                           const Tensor& seg_start, const AttentionDims& dims);
    virtual AttentionGrads attention_train_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                    const AttentionSaved& saved, const Tensor& d_out,
                                                    const Tensor& seg_start, const AttentionDims& dims);

    // MLA's expanded keys/values for attention_train: kv [T, H*(nope+v)] is kv_b's output (per head:
    // nope then v columns), k_pe [T, rope] the roped shared key part. k [T, H*(nope+rope)] = per
    // head [k_nope_h ; k_pe], v [T, H*v]. The backward gives dkv and dk_pe (summed over heads).
    virtual void mla_split_kv(const Tensor& kv, const Tensor& k_pe, const MlaDims& dims, Tensor& k, Tensor& v);
    virtual void mla_split_kv_backward(const Tensor& dk, const Tensor& dv, const MlaDims& dims, Tensor& dkv,
                                       Tensor& dk_pe);

    // Router logits [T, E] = x · gateᵀ with f32 activations (selection must not depend on a bf16
    // rounding of x); the default is linear().
    virtual Tensor router_logits(const Tensor& x, const Weight& gate);
    // Router from precomputed f32 logits [T, E]: the same selection and weights as route(), plus
    // the bias-free scores s [T, E] (sigmoid or softmax) that the balance loss and backward need.
    virtual RouterOutput route_from_logits(const Tensor& logits, const Tensor* bias, const RouterParams& params,
                                           Tensor& scores);
    // d_logits [T, E] from d_weights [T, top_k] (through the normalisation and scaling of the
    // chosen scores; never through the selection) plus d_scores [T, E] (balance loss; may be null).
    virtual Tensor route_backward(const Tensor& scores, const RouterOutput& routing, const Tensor& d_weights,
                                  const Tensor* d_scores, const RouterParams& params);
    // Sequence-wise balance loss over consecutive blocks of rows_per_sequence rows of scores
    // [T, E] / expert ids [T, K]: coeff · Σ_b Σ_i f_i P_i, and its gradient w.r.t. the scores.
    virtual BalanceLossResult balance_loss(const Tensor& scores, const Tensor& expert_ids, int64_t rows_per_sequence,
                                           int64_t top_k, float coeff);
    // Expert hits per expert [E] of expert ids [T, K] (host counts; the bias update's load).
    virtual std::vector<int64_t> expert_counts(const Tensor& expert_ids, int64_t n_experts);

    // SwiGLU pieces: h = silu(g) ⊙ u; backward gives dg, du.
    virtual Tensor swiglu(const Tensor& g, const Tensor& u);
    virtual void swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du);

    // Routed experts with optional LoRA (null: none), the training forward; same result as
    // moe_experts without LoRA. With `keep`, the forward may leave its products there (*keep set,
    // or left null) for the backward of the same x, routing, experts and LoRA factors. Backward
    // uses `kept` when given, else recomputes the experts' forward from x, and returns dx;
    // d_weights [T, K] receives ∂/∂(routing weight) (overwritten, not accumulated).
    virtual Tensor moe_experts_train(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts,
                                     const ExpertLora* lora, std::shared_ptr<ExpertRows>* keep = nullptr);
    virtual Tensor moe_experts_backward(const Tensor& x, const RouterOutput& routing, const ExpertSet& experts,
                                        const ExpertLora* lora, const Tensor& dy, Tensor& d_weights,
                                        ExpertGrads* grads, ExpertLoraGrads* lora_grads,
                                        const ExpertRows* kept = nullptr);

    // Cross-entropy of logits [T, V] against targets [T, 1] I32 (−1: no target), gradient scaled by `scale`.
    virtual CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& targets, float scale);

    // Optimiser: Σ x² (f64 accumulation) for global-norm clipping; one AdamW update of p with g,
    // m (exp_avg), v (exp_avg_sq) in place.
    virtual double sum_squares(const Tensor& x);
    // Σ over xs of sum_squares(x), added in order: the global gradient norm in one call. The
    // default loops; a GPU backend reads every partial sum back with one synchronisation instead
    // of one per tensor (a LoRA run has hundreds of parameters).
    virtual double sum_squares_many(std::span<const Tensor* const> xs);
    virtual void adamw_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamWStep& step);
    // adamw_update of many parameters with one step's settings (step.weight_decay unused: each
    // parameter's own), the same results. The default loops; a GPU backend updates them all in one
    // launch (a LoRA run has hundreds of parameters, and a launch each cost more host time than
    // the GPU spends on their bytes).
    virtual void adamw_update_many(std::span<const AdamWParam> params, const AdamWStep& step);
    // zero() of many tensors; the default loops, a GPU backend launches once for its F32 ones.
    virtual void zero_many(std::span<Tensor* const> xs);

    // ---- device queries (optional) -----------------------------------------------------------
    // The accelerator this backend computes on: its name and memory, device-wide (other processes
    // count too, as nvidia-smi shows it). nullopt for a host backend or when the query fails. Any
    // thread, no synchronisation: telemetry polls it while the model runs.
    struct DeviceMemory {
        std::string name;
        uint64_t free_bytes = 0, total_bytes = 0;
    };
    virtual std::optional<DeviceMemory> device_memory() const { return std::nullopt; }

    // ---- sampling ---------------------------------------------------------------------------
    // Greedy choice per row: logits [rows, V] -> [rows, 1] I32, the index of each row's largest
    // value (lowest index on ties; NaN never wins; -1 for a row of NaN only). Inside a decode
    // step's body it keeps the choice on the device, so the step reads back 4 bytes instead of
    // the [1, V] logits. The default reads the logits back and chooses on the host.
    virtual Tensor argmax_rows(const Tensor& logits);

    // Sampled choice on the backend: a TokenSampler (below) made once per model. nullptr (the
    // default, and the CPU reference): this backend samples on the host, where the generator
    // downloads the logits and draws with generate/Sampler; nothing is lost there, the logits are
    // already in host memory. vocab: the logits' row length (the history flags' size).
    virtual std::unique_ptr<TokenSampler> make_token_sampler(int64_t vocab);
};

// The state of sampled decoding on a backend, kept on the device so that a decode step's body can
// draw the next token and the step reads back only its id (Model::forward_sample): the sampling
// parameters, the set of tokens the repetition penalty sees, and the index of the next draw.
// Processing is generate/sampler.h's exactly (penalty over the distinct tokens seen, temperature,
// top-k with ties at the k-th value kept, top-p, min-p; argmax after the penalty when greedy); the
// draw is a counter-based one, a function of (seed, draw index, token id), so the same seed,
// history and logits give the same token, and a recorded step replays with fresh noise.
class TokenSampler {
public:
    virtual ~TokenSampler() = default;

    // Outside a body (these may upload). The parameters of the following draws and the index of
    // the next one; sample() advances the index by one.
    virtual void configure(const SamplingParams& params, uint64_t next_draw) = 0;
    // The history: forget it, or add tokens to it (ids outside [0, vocab) are ignored).
    virtual void clear_history() = 0;
    virtual void add_history(std::span<const int32_t> ids) = 0;

    // logits [1, V] -> [1, 1] I32: a draw from the processed distribution of the first `cols`
    // columns (0 or >= V: all), -1 when none of them is a number. The drawn id joins the history
    // and the draw index advances, on the device: inside a decode step's body nothing is read back
    // and a replay draws the next token.
    virtual Tensor sample(const Tensor& logits, int64_t cols) = 0;
};

}  // namespace moe
