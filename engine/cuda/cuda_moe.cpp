// CUDA: SwiGLU FFN and the routed-expert mixture (kernels/moe.cu; CPU twin cpu_moe.cpp).
//
// T <= fused_max_tokens() (4): the fused decode kernels read the expert ids on the device and stream
// only the chosen experts' rows (no host round trip; CUDA-graph safe); moe_block runs the router,
// the routed experts and the shared expert as three kernels.
// Prefill with MOE_PREFILL_DEVICE_GROUPING=1 on a wgmma GPU: the rows are grouped on the device
// (device_grouped_prefill.h: no host sync, no ids on the host; opt-in until measured faster).
// By default (and for MOE_EXPERT_GEMM=buckets|grouped, fp8 layers of few tokens or too big to copy
// whole): the ids come to the host once per layer (copied as soon as the router has chosen them,
// ids_readback.h, while the shared expert runs), tokens are
// grouped by expert (gate|up stacked in one GEMM, then down) exactly as the training forward
// groups them (expert_groups.h: padded buckets or one grouped cuBLAS call per projection); a
// combine kernel adds w_k · y_k per token in k order (moe_prefill, at the end of this file).
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "cuda/device_grouped_prefill.h"
#include "cuda/expert_groups.h"
#include "cuda/fp8_experts.h"
#include "elementwise.h"
#include "moe.h"

namespace moe {

using namespace cuda;

namespace cuda {
// The routed experts (and a dense FFN) of T <= this many tokens run the fused decode kernels (f32 activations, each
// token streaming its own experts' rows, no host sync); more tokens run GEMMs over each active
// expert's rows (read once; bf16 activations, one host sync per layer). 4: a batched decode step
// of up to 4 rows then computes every row exactly as that row's step alone (GEMV, attention rows
// and these kernels are per row), so batching changes no greedy output; on the Moonlight shape
// (H100, 2026-12-06) 4 streams gained 1.56x over one instead of 1.31x at a threshold of 2, with
// streams identical to their runs alone. MOE_FUSED_MAX_TOKENS=N overrides it (A/B runs; read once).
int64_t fused_max_tokens() {
    static const int64_t v = [] {
        const char* e = std::getenv("MOE_FUSED_MAX_TOKENS");
        const long n = e ? std::strtol(e, nullptr, 10) : 0;
        return n > 0 ? int64_t(n) : int64_t(4);
    }();
    return v;
}
}  // namespace cuda

namespace {
// Prefill over fp8 experts: a layer's bf16 copy at most this big is made in one kernel (Moonlight's
// 64 experts: 1.1 GB; DeepSeek-V3's 256: 22.5 GB, so one expert at a time there).
constexpr size_t kFp8WholeLayerBytes = size_t(2) << 30;

// Prefill gate/up GEMMs write bf16 (their only reader, the SwiGLU, rounds its output to bf16 for
// the down GEMM anyway): half the bytes written and read back. MOE_PREFILL_F32_GATE_UP=1 keeps the
// f32 outputs (A/B runs, tests).
bool bf16_gate_up() {
    const char* v = std::getenv("MOE_PREFILL_F32_GATE_UP");
    return !(v && v[0] == '1');
}

// A layer's fp8 experts dequantised to one bf16 copy, gate|up [E, 2I, H] then down [E, H, I], for
// the prefill GEMMs (freed in stream order with it).
class Fp8LayerInBf16 {
public:
    Fp8LayerInBf16(DeviceContext& ctx, const CudaExpertSetStorage& es)
        : up_offset_(2 * es.inter * es.hidden * es.n_experts),
          layer_(ctx, size_t(3 * es.inter * es.hidden * es.n_experts) * 2, "a layer's fp8 experts in bf16") {
        uint16_t* w16 = layer_.as<uint16_t>();
        MOE_CUDA_CHECK(kernels::fp8_to_bf16(gate_up_stack(es), 0, 2 * es.n_experts, w16, ctx.stream()));
        MOE_CUDA_CHECK(kernels::fp8_to_bf16(down_stack(es), 0, es.n_experts, w16 + up_offset_, ctx.stream()));
    }
    const uint16_t* gate_up() const { return layer_.as<uint16_t>(); }
    const uint16_t* down() const { return layer_.as<uint16_t>() + up_offset_; }

private:
    int64_t up_offset_;  // elements of the gate|up stack, where down starts
    Scratch layer_;
};

// h [rows, inter] bf16 = silu(g) u from the gate/up GEMM outputs gu [rows, 2 inter] (f32 or bf16).
cudaError_t swiglu_to_bf16(const void* gu, bool gu_bf16, int64_t rows, int64_t inter, uint16_t* h, cudaStream_t s) {
    return gu_bf16 ? kernels::silu_mul_bf16_to_bf16(static_cast<const uint16_t*>(gu), rows, inter, h, s)
                   : kernels::silu_mul_to_bf16(static_cast<const float*>(gu), rows, inter, h, s);
}

void set_routed(kernels::MoeDecodeArgs& a, const RouterOutput& routing, const CudaExpertSetStorage& es) {
    a.ids = i32(routing.expert_ids);
    a.weights = f32(routing.weights);
    a.top_k = routing.expert_ids.cols();
    a.inter = es.inter;
    if (es.fp8()) {
        a.gate_up8 = gate_up_stack(es);
        a.down8 = down_stack(es);
    } else {
        a.gate_up = es.gate_up.as<uint16_t>();
        a.down = es.down.as<uint16_t>();
    }
}

void set_shared(kernels::MoeDecodeArgs& a, const FfnWeights& w, int64_t inter) {
    const CudaWeightStorage& gate = weight_storage(w.gate);
    const CudaWeightStorage& up = weight_storage(w.up);
    const CudaWeightStorage& down = weight_storage(w.down);
    if (gate.rows != inter || up.rows != inter || up.cols != gate.cols || down.cols != inter || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    a.s_gate = gate.bf16();
    a.s_up = up.bf16();
    a.s_down = down.bf16();
    a.shared_inter = inter;
}
}  // namespace

// The fused decode kernels over whatever experts `a` names; out [T, hidden] is overwritten.
void CudaBackend::run_moe_decode(const Tensor& x, kernels::MoeDecodeArgs& a, Tensor& out) {
    a.x = f32(x);
    a.T = x.rows();
    a.hidden = x.cols();
    Scratch h(*ctx_, size_t(kernels::moe_decode_hidden_floats(a)) * 4, "expert hidden activations");
    a.h = h.as<float>();
    a.out = f32(out);
    MOE_CUDA_CHECK(kernels::moe_decode(a, ctx_->stream()));
}

Tensor CudaBackend::ffn(const Tensor& x, const FfnWeights& w) {
    const CudaWeightStorage& gate = weight_storage(w.gate);
    const CudaWeightStorage& up = weight_storage(w.up);
    const CudaWeightStorage& down = weight_storage(w.down);
    if (up.rows != gate.rows || down.cols != gate.rows || up.cols != gate.cols || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    if (x.cols() != gate.cols) throw_invalid_argument("ffn: x width does not match the gate weight");
    const int64_t T = x.rows(), H = gate.cols, I = gate.rows;
    cudaStream_t s = ctx_->stream();
    Tensor out = make(T, H);
    if (T <= fused_max_tokens()) {  // a dense FFN too: per-row numerics (its weights read once per row)
        kernels::MoeDecodeArgs a;  // no routed experts: the FFN is the "shared" one
        set_shared(a, w, I);
        run_moe_decode(x, a, out);
        return out;
    }
    Scratch xb(*ctx_, size_t(T * H) * 2, "bf16 FFN input");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(x), H, T, H, xb.as<uint16_t>(), H, s));
    const bool gu16 = bf16_gate_up();
    const size_t gu_elem = gu16 ? 2 : 4;
    Scratch gu(*ctx_, size_t(T * 2 * I) * gu_elem, "FFN gate/up output");
    gemm_bf16(xb.as<uint16_t>(), T, H, gate.bf16(), I, gu.as<char>(), 2 * I, gu16);
    gemm_bf16(xb.as<uint16_t>(), T, H, up.bf16(), I, gu.as<char>() + size_t(I) * gu_elem, 2 * I, gu16);
    Scratch hb(*ctx_, size_t(T * I) * 2, "bf16 FFN hidden activations");
    MOE_CUDA_CHECK(swiglu_to_bf16(gu.as<void>(), gu16, T, I, hb.as<uint16_t>(), s));
    gemm_bf16(hb.as<uint16_t>(), T, I, down.bf16(), H, f32(out), H);
    return out;
}

Tensor CudaBackend::moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& set) {
    const CudaExpertSetStorage& es = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, "moe_experts expert_ids");
    require_shape(routing.weights, T, K, "moe_experts weights");
    if (es.n_experts == 0 || es.hidden != H) throw_invalid_argument("moe_experts: expert set does not match x");
    Tensor out = make(T, H);
    if (T > fused_max_tokens() && !dev_tokens_) {
        moe_prefill(x, routing, set, out, false);
        return out;
    }
    kernels::MoeDecodeArgs a;
    set_routed(a, routing, es);
    run_moe_decode(x, a, out);
    return out;
}

Tensor CudaBackend::moe_block(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params,
                              const ExpertSet& experts, const FfnWeights* shared, RouterOutput& routing) {
    const int64_t T = x.rows(), H = x.cols();
    const CudaExpertSetStorage& es = expert_storage(experts);
    if (es.n_experts == 0 || es.hidden != H) throw_invalid_argument("moe_block: expert set does not match x");
    routing = route(x, gate, bias, params);
    if (T > fused_max_tokens() && !dev_tokens_) {
        // Prefill: the shared expert first (its GEMMs keep the device busy while the host groups the
        // routed rows), then the combine adds the routed experts onto its output: no separate sum.
        Tensor out = shared ? ffn(x, *shared) : make(T, H);
        moe_prefill(x, routing, experts, out, shared != nullptr);
        return out;
    }
    kernels::MoeDecodeArgs a;
    set_routed(a, routing, es);
    if (shared) {
        const CudaWeightStorage& g = weight_storage(shared->gate);
        if (g.cols != H) throw_invalid_argument("moe_block: shared expert does not match x");
        set_shared(a, *shared, g.rows);
    }
    Tensor out = make(T, H);
    run_moe_decode(x, a, out);
    return out;
}


}  // namespace moe

// ---- training (CPU twin: the training section of cpu_moe.cpp) ------------------------------------
// swiglu / swiglu_backward are f32 elementwise kernels. The routed experts' training forward and
// backward group the T·K (token, expert) slots by expert (expert_groups.h: padded slots and one
// pointer-array batched GEMM per projection, or exact rows and one GEMM per active expert) and run
// every product as a bf16 cuBLAS GEMM with f32 accumulation:
//   forward   gu = x Gᵀ|Uᵀ (+ s·(drop(x) Aᵀ) Bᵀ per LoRA), h = silu(g) u, y = h Dᵀ (+ LoRA), out = Σ_k w_k y
//   backward  d_weight = dy·y, dye = w dy, dh = dye D, dD += dyeᵀ h, (dg, du) = swiglu'(g, u, dh),
//             dx_rows = [dg|du] [G;U], dG += dgᵀ x, dU += duᵀ x, dx = Σ_k dx_rows   (+ the LoRA terms:
//             dB += s·dyᵀ z, dz = s·dy B, dA += dzᵀ drop(x), dx_rows += mask ⊙ (dz A))
// LoRA runs per expert group as two rank-r GEMMs (never a dense per-expert delta) on bf16 copies of
// its F32 factors; dropout masks are kernels/counter_rng.h's with the CPU's element index (slot ·
// input width + column), re-derived in backward. The backward recomputes the forward rows unless
// the forward kept them (CudaExpertRows: the gate/up products, the expert outputs, the LoRA rank
// products; then the backward re-derives only the gathers, dropout copies and SwiGLU rows).
// The one wait for the device: the expert ids are read once per call (moe_experts_train /
// _backward; the router started their copy, ids_readback.h) to group the rows; the row maps and
// every GEMM's pointer tables then go to the device in one copy (page-locked, upload_ring.h).
namespace moe {

using namespace cuda;

Tensor CudaBackend::swiglu(const Tensor& g, const Tensor& u) {
    require_shape(u, g.rows(), g.cols(), "swiglu u");
    Tensor h = make(g.rows(), g.cols());
    MOE_CUDA_CHECK(kernels::swiglu_f32(f32(g), f32(u), g.numel(), f32(h), ctx_->stream()));
    return h;
}

void CudaBackend::swiglu_backward(const Tensor& g, const Tensor& u, const Tensor& dh, Tensor& dg, Tensor& du) {
    require_shape(u, g.rows(), g.cols(), "swiglu_backward u");
    require_shape(dh, g.rows(), g.cols(), "swiglu_backward dh");
    dg = make(g.rows(), g.cols());
    du = make(g.rows(), g.cols());
    MOE_CUDA_CHECK(kernels::swiglu_backward_f32(f32(g), f32(u), f32(dh), g.numel(), f32(dg), f32(du), ctx_->stream()));
}

namespace {

using ScratchPtr = std::unique_ptr<Scratch>;

ScratchPtr scratch(DeviceContext& ctx, int64_t elements, size_t elem_bytes, const char* what) {
    return std::make_unique<Scratch>(ctx, size_t(std::max<int64_t>(elements, 1)) * elem_bytes, what);
}

// One LoRA'd projection of the routed experts for one op: bf16 copies of its F32 factors (the
// optimiser changes them every step), its dropout, and where its gradients go (null: frozen).
struct LoraProj {
    bool on = false;
    int64_t r = 0;
    float scale = 1.0f, p = 0.0f;
    uint64_t seed = 0;
    ScratchPtr a, b;         // bf16 [E·r, in], [E·out, r]
    float* da = nullptr;     // [E·r, in]
    float* db = nullptr;     // [E·out, r]
};

LoraProj lora_proj(DeviceContext& ctx, const LoraWeights& w, LoraGrads* g, int64_t r, int64_t E, int64_t in,
                   int64_t out, const char* name) {
    LoraProj p;
    if (w.empty()) return p;
    const std::string what = std::string("expert LoRA ") + name;
    if (r <= 0) throw_invalid_argument(what + ": rank must be positive");
    require_shape(w.a, E * r, in, (what + " a").c_str());
    require_shape(w.b, E * out, r, (what + " b").c_str());
    if (w.dropout < 0.0f || w.dropout >= 1.0f) throw_invalid_argument(what + ": dropout must be in [0, 1)");
    p.on = true;
    p.r = r;
    p.scale = w.scale;
    p.p = w.dropout;
    p.seed = w.seed;
    p.a = scratch(ctx, E * r * in, 2, "bf16 expert LoRA A");
    p.b = scratch(ctx, E * out * r, 2, "bf16 expert LoRA B");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(w.a), in, E * r, in, p.a->as<uint16_t>(), in, ctx.stream()));
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(w.b), r, E * out, r, p.b->as<uint16_t>(), r, ctx.stream()));
    if (g && !g->a.empty()) {
        require_shape(g->a, E * r, in, (what + " a gradient").c_str());
        p.da = f32(g->a);
    }
    if (g && !g->b.empty()) {
        require_shape(g->b, E * out, r, (what + " b gradient").c_str());
        p.db = f32(g->b);
    }
    return p;
}

GroupOperand rows_of(const void* base, int64_t row_bytes, int64_t ld) { return GroupOperand{base, 0, row_bytes, ld}; }
GroupOperand per_expert(const void* base, int64_t expert_bytes, int64_t ld) { return GroupOperand{base, expert_bytes, 0, ld}; }
// The operand `bytes` further on: a column block of grouped rows, or a block of rows of each expert's matrix.
GroupOperand offset_base(GroupOperand o, int64_t bytes) {
    o.base = static_cast<const unsigned char*>(o.base) + bytes;
    return o;
}

// The routed experts of one training op over grouped rows: buffers, GEMMs and kernels in order.
// Construction allocates every buffer and registers every GEMM, then sends the row maps and the
// pointer tables to the device in one copy; forward() and backward() only launch.
// The bf16 [E, 2I, H] gate|up and [E, H, I] down stacks a RoutedExpertsStep multiplies by; null:
// the set's own (for an fp8 set, its lasting bf16 copy).
struct Bf16Weights {
    const void* gate_up = nullptr;
    const void* down = nullptr;
};

// What moe_experts_train keeps for moe_experts_backward (Backend::ExpertRows): the grouping and,
// per grouped row, the gate/up products and the expert output (LoRA terms included) in bf16, and
// the LoRA rank products, so that the backward runs no forward GEMM and reads no expert ids.
// bf16 — 2·(2I + H) bytes a row, 119 MB a layer for 2048 moonlight tokens, half of f32 — because
// the backward's SwiGLU derivative feeds bf16 GEMM inputs and d_weights is a dot over H anyway.
struct CudaExpertRows final : ExpertRows {
    ExpertGroups groups;
    ScratchPtr gu;                    // bf16 [P, 2I]
    ScratchPtr y;                     // bf16 [P, H]
    ScratchPtr z_gate, z_up, z_down;  // bf16 [P, r] (null: that projection has no LoRA)
};

class RoutedExpertsStep {
public:
    // kept: a backward step over rows its forward kept (g must be kept->groups): no forward GEMM.
    // fuse_swiglu (inference: nothing kept, no LoRA): where the tile kernel's SwiGLU epilogue runs,
    // the gate/up GEMM writes the SwiGLU rows h directly (no [P, 2I] gate/up rows, no SwiGLU pass).
    RoutedExpertsStep(DeviceContext& ctx, const ExpertGroups& g, const CudaExpertSetStorage& es, const ExpertLora* lora,
                      bool with_backward, ExpertGrads* grads, ExpertLoraGrads* lora_grads, Bf16Weights weights = {},
                      const CudaExpertRows* kept = nullptr, bool fuse_swiglu = false);
    // The expert rows y [P, H] (f32) of x [T, H]; keep (may be null): the bf16 gate/up rows stored
    // there on the way.
    void forward(const Tensor& x, CudaExpertRows* keep = nullptr);
    // out [T, H] = Σ_k w[t, k] · y[row of slot (t, k)] (+ out's own values when accumulate); keep:
    // the bf16 rows of y stored there on the way.
    void combine(const Tensor& weights, Tensor& out, CudaExpertRows* keep = nullptr, bool accumulate = false) const;
    // After forward(x, &rows) and combine(.., &rows): hands the rest the backward needs to `rows`.
    void keep_rows(CudaExpertRows& rows);
    // A kept step: what backward() reads besides the kept rows, from x [T, H].
    void restore(const Tensor& x);
    // After forward(x) or restore(x): dx [T, H] (overwritten), d_weights [T, K] (every slot
    // written), gradients accumulated.
    void backward(const Tensor& weights, const Tensor& dy, Tensor& dx, Tensor& d_weights);

private:
    void register_forward();
    void register_gate_up();  // the gate/up GEMM and the gate/up LoRA products (register_forward)
    void register_down();     // the down GEMM and the down LoRA products (register_forward)
    void gather_inputs(const Tensor& x);               // xp and the gate/up LoRAs' dropout rows
    // h and the down LoRA's dropout rows; gu_keep (f32 gu only, may be null): gu in bf16 too.
    void swiglu_rows(const void* gu, bool gu_bf16, uint16_t* gu_keep = nullptr);
    void register_backward(ExpertGrads* grads);
    void run(int gemm) const { gemms_.run(ctx_.cublas(), gemm, dev_); }
    // The LoRA terms of one projection's backward: its factor gradients and its input gradient into
    // acc [P, in] (f32), from its output gradient d_out (bf16 rows) and its input rows x_in after dropout.
    struct LoraBackward {
        int db = -1, dz = -1, da = -1, dx = -1;
    };
    // dx_fused: its input gradient rides on another GEMM (GroupedGemms::add's second product).
    LoraBackward register_lora_backward(const LoraProj& l, int64_t in, int64_t out, GroupOperand d_out,
                                        const void* x_in, const Scratch& z, const Scratch& dz, void* acc,
                                        float* dx_scratch, bool dx_fused = false);
    // The input gradient d drop(x) [P, in] = dz A_e, into acc (accumulated) or, with dropout, into dx_scratch.
    static GroupGemm lora_dx_gemm(const LoraProj& l, int64_t in, const Scratch& dz, void* acc, float* dx_scratch);
    void run_lora_backward(const LoraProj& l, const LoraBackward& b, int64_t in, void* acc, const float* dx_scratch) const;

    DeviceContext& ctx_;
    const ExpertGroups& g_;
    const CudaExpertSetStorage& es_;
    const void* gate_up_w_;  // bf16 [E, 2I, H] (an fp8 set's bf16 copy)
    const void* down_w_;     // bf16 [E, H, I]
    const int64_t H_, I_, P_;
    const bool backward_;
    const CudaExpertRows* kept_;
    bool gu16_ = false;  // forward only without gate/up LoRA: the gate/up GEMM writes bf16 (bf16_gate_up())
    const bool fuse_swiglu_;
    bool swiglu_fused_ = false;  // the gate/up GEMM writes h through the SwiGLU epilogue
    bool y16_ = false;           // inference: the down GEMM writes bf16 y (prefill_bf16_expert_outputs)
    LoraProj gate_, up_, down_;
    GroupedGemms gemms_;
    Staging staging_;
    ScratchPtr device_staging_;
    const unsigned char* dev_ = nullptr;
    size_t token_of_ = 0, slot_of_row_ = 0, row_of_slot_ = 0;  // staging offsets of the maps
    // Forward rows.
    ScratchPtr xp_, gu_, h_, y_, xd_gate_, xd_up_, hd_, z_gate_, z_up_, z_down_;
    // Backward rows.
    ScratchPtr dye_, dh_, dgu_, dxs_, dz_gate_, dz_up_, dz_down_, dhd_, dxd_;
    int f_up_half_ = -1;  // the up half of the gate/up GEMM when it runs as two (f_gate_up_ the gate half)
    int f_gate_up_ = -1, f_z_gate_ = -1, f_d_gate_ = -1, f_z_up_ = -1, f_d_up_ = -1, f_down_ = -1, f_z_down_ = -1,
        f_d_down_ = -1;
    int b_dh_ = -1, b_ddown_ = -1, b_dxs_ = -1, b_dgate_ = -1, b_dup_ = -1;
    bool down_dx_fused_ = false;  // the down LoRA's input gradient runs inside b_dh_
    bool gate_dx_fused_ = false;  // the gate LoRA's input gradient runs inside b_dxs_
    LoraBackward lb_down_, lb_gate_, lb_up_;

    const int32_t* map(size_t offset) const { return reinterpret_cast<const int32_t*>(dev_ + offset); }
    const uint16_t* xd_gate() const { return (xd_gate_ ? xd_gate_ : xp_)->as<uint16_t>(); }
    const uint16_t* xd_up() const { return (xd_up_ ? xd_up_ : xp_)->as<uint16_t>(); }
    const uint16_t* hd() const { return (hd_ ? hd_ : h_)->as<uint16_t>(); }
    const Scratch& z_gate() const { return kept_ ? *kept_->z_gate : *z_gate_; }
    const Scratch& z_up() const { return kept_ ? *kept_->z_up : *z_up_; }
    const Scratch& z_down() const { return kept_ ? *kept_->z_down : *z_down_; }
};

RoutedExpertsStep::RoutedExpertsStep(DeviceContext& ctx, const ExpertGroups& g, const CudaExpertSetStorage& es,
                                     const ExpertLora* lora, bool with_backward, ExpertGrads* grads,
                                     ExpertLoraGrads* lg, Bf16Weights weights, const CudaExpertRows* kept,
                                     bool fuse_swiglu)
    : ctx_(ctx), g_(g), es_(es),
      gate_up_w_(weights.gate_up ? weights.gate_up : bf16_gate_up(es, ctx.stream())),
      down_w_(weights.down ? weights.down : bf16_down(es, ctx.stream())),
      H_(es.hidden), I_(es.inter), P_(g.P), backward_(with_backward), kept_(kept), fuse_swiglu_(fuse_swiglu), gemms_(g) {
    const int64_t E = es.n_experts;
    if (lora) {
        gate_ = lora_proj(ctx, lora->gate, lg ? &lg->gate : nullptr, lora->rank, E, H_, I_, "gate");
        up_ = lora_proj(ctx, lora->up, lg ? &lg->up : nullptr, lora->rank, E, H_, I_, "up");
        down_ = lora_proj(ctx, lora->down, lg ? &lg->down : nullptr, lora->rank, E, I_, H_, "down");
    }
    if (kept_) {
        const bool match = kept_->gu && kept_->y && (!gate_.on || kept_->z_gate) && (!up_.on || kept_->z_up) &&
                           (!down_.on || kept_->z_down);
        if (!match) throw_invalid_argument("moe_experts_backward: the kept expert rows are of a forward with other LoRA");
    }
    if (grads) {
        require_shape(grads->gate, E * I_, H_, "moe_experts_backward gate gradient");
        require_shape(grads->up, E * I_, H_, "moe_experts_backward up gradient");
        require_shape(grads->down, E * H_, I_, "moe_experts_backward down gradient");
    }
    gu16_ = !backward_ && !gate_.on && !up_.on && bf16_gate_up();
    token_of_ = staging_.add(g.token_of);
    slot_of_row_ = staging_.add(g.slot_of_row);
    row_of_slot_ = staging_.add(g.row_of_slot);
    register_forward();
    if (backward_) register_backward(grads);
    dev_ = staging_.upload(ctx, device_staging_);
}

void RoutedExpertsStep::register_forward() {
    const int64_t P = P_, H = H_, I = I_;
    xp_ = scratch(ctx_, P * H, 2, "grouped bf16 expert inputs");
    h_ = scratch(ctx_, P * I, 2, "grouped bf16 SwiGLU rows");
    if (gate_.on && gate_.p > 0.0f) xd_gate_ = scratch(ctx_, P * H, 2, "grouped bf16 LoRA inputs after dropout");
    if (up_.on && up_.p > 0.0f) xd_up_ = scratch(ctx_, P * H, 2, "grouped bf16 LoRA inputs after dropout");
    if (down_.on && down_.p > 0.0f) hd_ = scratch(ctx_, P * I, 2, "grouped bf16 down-LoRA inputs after dropout");
    if (kept_) return;  // the products are the kept ones: no forward GEMM runs
    swiglu_fused_ = fuse_swiglu_ && gu16_ && gemms_.swiglu_available();
    if (!swiglu_fused_) gu_ = scratch(ctx_, P * 2 * I, gu16_ ? 2 : 4, "grouped expert gate/up outputs");
    y16_ = fuse_swiglu_ && !backward_ && !down_.on && H % 4 == 0 && prefill_bf16_expert_outputs();
    y_ = scratch(ctx_, P * H, y16_ ? 2 : 4, "grouped expert outputs");
    register_gate_up();
    register_down();
}

void RoutedExpertsStep::register_gate_up() {
    const int64_t P = P_, H = H_, I = I_;
    if (swiglu_fused_) {  // h [P, I] = silu(x Gᵀ) ⊙ (x Uᵀ) in the GEMM's epilogue
        f_gate_up_ = gemms_.add({CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, kGroupRows, H, 1.0f, 0.0f,
                                 per_expert(gate_up_w_, 2 * I * H * 2, H), rows_of(xp_->get(), H * 2, H),
                                 rows_of(h_->get(), I * 2, I), CUDA_R_16BF, true},
                                staging_);
        return;
    }
    const int64_t gu_elem = gu16_ ? 2 : 4;
    // LoRA on gate / up: z = s · drop(x) Aᵀ [P, r] (bf16; the scale folded in here, so that the term
    // z Bᵀ can ride on a base GEMM of alpha 1), then gu[:, off] += z Bᵀ. With both LoRAs and the
    // tile kernel the gate/up GEMM runs as its two halves, each carrying its LoRA's term.
    const GroupOperand gu_rows = rows_of(gu_->get(), 2 * I * gu_elem, 2 * I);
    const cudaDataType_t gu_type = gu16_ ? CUDA_R_16BF : CUDA_R_32F;
    auto lora_z = [&](LoraProj& l, const ScratchPtr& xd, ScratchPtr& z, int& fz) {
        z = scratch(ctx_, P * l.r, 2, "grouped LoRA rank products");
        fz = gemms_.add({CUBLAS_OP_T, CUBLAS_OP_N, l.r, kGroupRows, H, l.scale, 0.0f, per_expert(l.a->get(), l.r * H * 2, H),
                         rows_of((xd ? xd : xp_)->get(), H * 2, H), rows_of(z->get(), l.r * 2, l.r), CUDA_R_16BF},
                        staging_);
    };
    auto lora_term = [&](const LoraProj& l, const ScratchPtr& z, int64_t off) {
        return GroupGemm{CUBLAS_OP_T, CUBLAS_OP_N, I, kGroupRows, l.r, 1.0f, 1.0f, per_expert(l.b->get(), I * l.r * 2, l.r),
                         rows_of(z->get(), l.r * 2, l.r), offset_base(gu_rows, off * 4), CUDA_R_32F};
    };
    if (gate_.on) lora_z(gate_, xd_gate_, z_gate_, f_z_gate_);
    if (up_.on) lora_z(up_, xd_up_, z_up_, f_z_up_);
    if (gate_.on && up_.on && gemms_.fusing()) {
        auto half = [&](int64_t off) {  // rows off..off+I of every [2I, H] stack, columns off.. of gu
            return GroupGemm{CUBLAS_OP_T, CUBLAS_OP_N, I, kGroupRows, H, 1.0f, 0.0f,
                             offset_base(per_expert(gate_up_w_, 2 * I * H * 2, H), off * H * 2),
                             rows_of(xp_->get(), H * 2, H), offset_base(gu_rows, off * gu_elem), gu_type};
        };
        const GroupGemm gate_term = lora_term(gate_, z_gate_, 0), up_term = lora_term(up_, z_up_, I);
        f_gate_up_ = gemms_.add(half(0), staging_, &gate_term);
        f_up_half_ = gemms_.add(half(I), staging_, &up_term);
        if (!gemms_.fused(f_gate_up_)) f_d_gate_ = gemms_.add(gate_term, staging_);
        if (!gemms_.fused(f_up_half_)) f_d_up_ = gemms_.add(up_term, staging_);
    } else {
        f_gate_up_ = gemms_.add({CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, kGroupRows, H, 1.0f, 0.0f,
                                 per_expert(gate_up_w_, 2 * I * H * 2, H), rows_of(xp_->get(), H * 2, H), gu_rows, gu_type},
                                staging_);
        if (gate_.on) f_d_gate_ = gemms_.add(lora_term(gate_, z_gate_, 0), staging_);
        if (up_.on) f_d_up_ = gemms_.add(lora_term(up_, z_up_, I), staging_);
    }
}

void RoutedExpertsStep::register_down() {
    const int64_t P = P_, H = H_, I = I_;
    // y = h D_eᵀ, plus the down LoRA's z Bᵀ (z = s · drop(h) Aᵀ) in the same launch where the kernel takes it.
    const int64_t y_elem = y16_ ? 2 : 4;
    const GroupGemm down{CUBLAS_OP_T, CUBLAS_OP_N, H, kGroupRows, I, 1.0f, 0.0f, per_expert(down_w_, H * I * 2, I),
                         rows_of(h_->get(), I * 2, I), rows_of(y_->get(), H * y_elem, H), y16_ ? CUDA_R_16BF : CUDA_R_32F};
    if (!down_.on) {
        f_down_ = gemms_.add(down, staging_);
        return;
    }
    const int64_t r = down_.r;
    z_down_ = scratch(ctx_, P * r, 2, "grouped LoRA rank products");
    f_z_down_ = gemms_.add({CUBLAS_OP_T, CUBLAS_OP_N, r, kGroupRows, I, down_.scale, 0.0f,
                            per_expert(down_.a->get(), r * I * 2, I), rows_of((hd_ ? hd_ : h_)->get(), I * 2, I),
                            rows_of(z_down_->get(), r * 2, r), CUDA_R_16BF},
                           staging_);
    const GroupGemm lora{CUBLAS_OP_T, CUBLAS_OP_N, H, kGroupRows, r, 1.0f, 1.0f, per_expert(down_.b->get(), H * r * 2, r),
                         rows_of(z_down_->get(), r * 2, r), rows_of(y_->get(), H * 4, H), CUDA_R_32F};
    f_down_ = gemms_.add(down, staging_, &lora);
    if (!gemms_.fused(f_down_)) f_d_down_ = gemms_.add(lora, staging_);
}

GroupGemm RoutedExpertsStep::lora_dx_gemm(const LoraProj& l, int64_t in, const Scratch& dz, void* acc,
                                          float* dx_scratch) {
    const bool masked = l.p > 0.0f;
    return {CUBLAS_OP_N, CUBLAS_OP_N, in, kGroupRows, l.r, 1.0f, masked ? 0.0f : 1.0f,
            per_expert(l.a->get(), l.r * in * 2, in), rows_of(dz.get(), l.r * 2, l.r),
            rows_of(masked ? static_cast<void*>(dx_scratch) : acc, in * 4, in), CUDA_R_32F};
}

// z = s · drop(x) Aᵀ from the forward; dz receives s · d_out B.
RoutedExpertsStep::LoraBackward RoutedExpertsStep::register_lora_backward(const LoraProj& l, int64_t in, int64_t out,
                                                                          GroupOperand d_out, const void* x_in,
                                                                          const Scratch& z, const Scratch& dz,
                                                                          void* acc, float* dx_scratch, bool dx_fused) {
    LoraBackward b;
    const int64_t r = l.r;
    // Row-major dB_e [out, r] += s · d_outᵀ drop(x) Aᵀ = d_outᵀ z:
    // column-major dBᶜ [r, out] += zᶜ · d_outᶜᵀ.
    if (l.db)
        b.db = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_T, r, out, kGroupRows, 1.0f, 1.0f, rows_of(z.get(), r * 2, r), d_out,
                           per_expert(l.db, out * r * 4, r), CUDA_R_32F},
                          staging_);
    // dz [P, r] = s · d_out B_e: column-major dzᶜ = Bᶜ · d_outᶜ (bf16 out).
    b.dz = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_N, r, kGroupRows, out, l.scale, 0.0f, per_expert(l.b->get(), out * r * 2, r),
                       d_out, rows_of(dz.get(), r * 2, r), CUDA_R_16BF},
                      staging_);
    // Row-major dA_e [r, in] += dzᵀ drop(x): column-major dAᶜ [in, r] += drop(x)ᶜ · dzᶜᵀ.
    if (l.da)
        b.da = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_T, in, r, kGroupRows, 1.0f, 1.0f, rows_of(x_in, in * 2, in),
                           rows_of(dz.get(), r * 2, r), per_expert(l.da, r * in * 4, in), CUDA_R_32F},
                          staging_);
    // d drop(x) [P, in] = dz A_e: straight into acc without dropout, else into dx_scratch for the masked add.
    if (!dx_fused) b.dx = gemms_.add(lora_dx_gemm(l, in, dz, acc, dx_scratch), staging_);
    return b;
}

void RoutedExpertsStep::register_backward(ExpertGrads* grads) {
    const int64_t P = P_, H = H_, I = I_;
    dye_ = scratch(ctx_, P * H, 2, "grouped bf16 expert output gradients");
    dh_ = scratch(ctx_, P * I, 4, "grouped SwiGLU-row gradients");
    dgu_ = scratch(ctx_, P * 2 * I, 2, "grouped bf16 gate/up gradients");
    dxs_ = scratch(ctx_, P * H, 4, "grouped expert input gradients");
    const GroupOperand dye = rows_of(dye_->get(), H * 2, H);
    // Row-major dh [n, I] = dye [n, H] · D_e [H, I]: column-major dhᶜ = D_eᶜ · dyeᶜ; without dropout
    // the down LoRA's input gradient dz A_e rides on it (one launch, dh written once).
    if (down_.on) {
        dz_down_ = scratch(ctx_, P * down_.r, 2, "grouped LoRA rank gradients");
        if (down_.p > 0.0f) dhd_ = scratch(ctx_, P * I, 4, "grouped down-LoRA input gradients");
    }
    const GroupGemm dh{CUBLAS_OP_N, CUBLAS_OP_N, I, kGroupRows, H, 1.0f, 0.0f, per_expert(down_w_, H * I * 2, I),
                       dye, rows_of(dh_->get(), I * 4, I), CUDA_R_32F};
    const bool fuse_down = down_.on && down_.p == 0.0f;
    const GroupGemm dh_lora = fuse_down ? lora_dx_gemm(down_, I, *dz_down_, dh_->get(), nullptr) : GroupGemm{};
    b_dh_ = gemms_.add(dh, staging_, fuse_down ? &dh_lora : nullptr);
    down_dx_fused_ = fuse_down && gemms_.fused(b_dh_);
    // Row-major dD_e [H, I] += dyeᵀ h: column-major dDᶜ [I, H] += hᶜ · dyeᶜᵀ.
    if (grads)
        b_ddown_ = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_T, I, H, kGroupRows, 1.0f, 1.0f, rows_of(h_->get(), I * 2, I), dye,
                               per_expert(f32(grads->down), H * I * 4, I), CUDA_R_32F},
                              staging_);
    if (down_.on)
        lb_down_ = register_lora_backward(down_, I, H, dye, hd(), z_down(), *dz_down_, dh_->get(),
                                          dhd_ ? dhd_->as<float>() : nullptr, down_dx_fused_);
    const GroupOperand dgu = rows_of(dgu_->get(), 2 * I * 2, 2 * I);
    // Row-major dx_rows [n, H] = [dg | du] [n, 2I] · [G_e ; U_e] [2I, H]: column-major dxᶜ = GUᶜ · dguᶜ;
    // without dropout the gate LoRA's input gradient dz A_e rides on it (the up LoRA's adds after).
    if ((gate_.on && gate_.p > 0.0f) || (up_.on && up_.p > 0.0f))
        dxd_ = scratch(ctx_, P * H, 4, "grouped LoRA input gradients");
    float* dxd = dxd_ ? dxd_->as<float>() : nullptr;
    if (gate_.on) dz_gate_ = scratch(ctx_, P * gate_.r, 2, "grouped LoRA rank gradients");
    const GroupGemm dxs{CUBLAS_OP_N, CUBLAS_OP_N, H, kGroupRows, 2 * I, 1.0f, 0.0f,
                        per_expert(gate_up_w_, 2 * I * H * 2, H), dgu, rows_of(dxs_->get(), H * 4, H), CUDA_R_32F};
    const bool fuse_gate = gate_.on && gate_.p == 0.0f;
    const GroupGemm dxs_lora = fuse_gate ? lora_dx_gemm(gate_, H, *dz_gate_, dxs_->get(), nullptr) : GroupGemm{};
    b_dxs_ = gemms_.add(dxs, staging_, fuse_gate ? &dxs_lora : nullptr);
    gate_dx_fused_ = fuse_gate && gemms_.fused(b_dxs_);
    // Row-major dG_e [I, H] += dgᵀ x: column-major dGᶜ [H, I] += xᶜ · dgᶜᵀ (dU likewise from du).
    if (grads) {
        b_dgate_ = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_T, H, I, kGroupRows, 1.0f, 1.0f, rows_of(xp_->get(), H * 2, H), dgu,
                               per_expert(f32(grads->gate), I * H * 4, H), CUDA_R_32F},
                              staging_);
        b_dup_ = gemms_.add({CUBLAS_OP_N, CUBLAS_OP_T, H, I, kGroupRows, 1.0f, 1.0f, rows_of(xp_->get(), H * 2, H),
                             offset_base(dgu, I * 2), per_expert(f32(grads->up), I * H * 4, H), CUDA_R_32F},
                            staging_);
    }
    if (gate_.on)
        lb_gate_ = register_lora_backward(gate_, H, I, dgu, xd_gate(), z_gate(), *dz_gate_, dxs_->get(), dxd,
                                          gate_dx_fused_);
    if (up_.on) {
        dz_up_ = scratch(ctx_, P * up_.r, 2, "grouped LoRA rank gradients");
        lb_up_ = register_lora_backward(up_, H, I, offset_base(dgu, I * 2), xd_up(), z_up(), *dz_up_, dxs_->get(), dxd);
    }
}

void RoutedExpertsStep::gather_inputs(const Tensor& x) {
    cudaStream_t s = ctx_.stream();
    const int32_t* token_of = map(token_of_);
    const int32_t* slot_of_row = map(slot_of_row_);
    MOE_CUDA_CHECK(kernels::gather_rows_bf16(f32(x), H_, token_of, P_, xp_->as<uint16_t>(), s));
    if (xd_gate_)
        MOE_CUDA_CHECK(kernels::gather_dropout_rows_bf16(f32(x), H_, token_of, slot_of_row, P_, gate_.p, gate_.seed,
                                                         xd_gate_->as<uint16_t>(), s));
    if (xd_up_)
        MOE_CUDA_CHECK(kernels::gather_dropout_rows_bf16(f32(x), H_, token_of, slot_of_row, P_, up_.p, up_.seed,
                                                         xd_up_->as<uint16_t>(), s));
}

void RoutedExpertsStep::swiglu_rows(const void* gu, bool gu_bf16, uint16_t* gu_keep) {
    cudaStream_t s = ctx_.stream();
    if (gu_keep)
        MOE_CUDA_CHECK(kernels::silu_mul_keep_bf16(static_cast<const float*>(gu), P_, I_, h_->as<uint16_t>(), gu_keep, s));
    else
        MOE_CUDA_CHECK(swiglu_to_bf16(gu, gu_bf16, P_, I_, h_->as<uint16_t>(), s));
    if (hd_)
        MOE_CUDA_CHECK(kernels::dropout_rows_bf16(h_->as<uint16_t>(), I_, map(slot_of_row_), P_, down_.p, down_.seed,
                                                  hd_->as<uint16_t>(), s));
}

void RoutedExpertsStep::forward(const Tensor& x, CudaExpertRows* keep) {
    if (kept_) throw_invalid_argument("RoutedExpertsStep: a kept step restores, it does not run forward");
    gather_inputs(x);
    if (gate_.on) run(f_z_gate_);  // the rank products first: the gate/up GEMM may carry their terms
    if (up_.on) run(f_z_up_);
    run(f_gate_up_);
    if (f_up_half_ >= 0) run(f_up_half_);
    if (f_d_gate_ >= 0) run(f_d_gate_);
    if (f_d_up_ >= 0) run(f_d_up_);
    if (keep && !gu16_) keep->gu = scratch(ctx_, P_ * 2 * I_, 2, "kept bf16 expert gate/up rows");
    if (!swiglu_fused_) swiglu_rows(gu_->get(), gu16_, keep && !gu16_ ? keep->gu->as<uint16_t>() : nullptr);
    if (down_.on) run(f_z_down_);  // before f_down_, which may carry z Bᵀ
    run(f_down_);
    if (f_d_down_ >= 0) run(f_d_down_);
}

void RoutedExpertsStep::restore(const Tensor& x) {
    gather_inputs(x);
    swiglu_rows(kept_->gu->get(), true);
}

void RoutedExpertsStep::keep_rows(CudaExpertRows& rows) {
    if (gu16_) rows.gu = std::move(gu_);
    if (!rows.gu || !rows.y) throw_invalid_argument("RoutedExpertsStep::keep_rows: forward and combine did not keep");
    rows.z_gate = std::move(z_gate_);
    rows.z_up = std::move(z_up_);
    rows.z_down = std::move(z_down_);
}

void RoutedExpertsStep::combine(const Tensor& weights, Tensor& out, CudaExpertRows* keep, bool accumulate) const {
    // Padding rows of keep->y stay unwritten: slot_dots skips rows without a token.
    if (y16_) {  // prefill's bf16 rows (nothing kept)
        MOE_CUDA_CHECK(kernels::moe_combine_bf16(y_->as<uint16_t>(), map(row_of_slot_), f32(weights), g_.T, g_.K, H_,
                                                 f32(out), ctx_.stream(), accumulate));
        return;
    }
    if (keep) keep->y = scratch(ctx_, P_ * H_, 2, "kept bf16 expert output rows");
    MOE_CUDA_CHECK(kernels::moe_combine(y_->as<float>(), map(row_of_slot_), f32(weights), g_.T, g_.K, H_, f32(out),
                                        ctx_.stream(), keep ? keep->y->as<uint16_t>() : nullptr, accumulate));
}

void RoutedExpertsStep::run_lora_backward(const LoraProj& l, const LoraBackward& b, int64_t in, void* acc,
                                          const float* dx_scratch) const {
    if (b.db >= 0) run(b.db);
    run(b.dz);
    if (b.da >= 0) run(b.da);
    if (b.dx >= 0) run(b.dx);  // -1: it rode on another GEMM
    if (l.p > 0.0f)
        MOE_CUDA_CHECK(kernels::masked_add_rows_f32(static_cast<float*>(acc), dx_scratch, in, map(slot_of_row_), P_, l.p,
                                                    l.seed, ctx_.stream()));
}

void RoutedExpertsStep::backward(const Tensor& weights, const Tensor& dy, Tensor& dx, Tensor& d_weights) {
    cudaStream_t s = ctx_.stream();
    const int32_t* token_of = map(token_of_);
    const int32_t* slot_of_row = map(slot_of_row_);
    if (kept_)
        MOE_CUDA_CHECK(kernels::slot_dots(f32(dy), kept_->y->as<uint16_t>(), H_, token_of, slot_of_row, P_,
                                          f32(d_weights), s));
    else
        MOE_CUDA_CHECK(kernels::slot_dots(f32(dy), y_->as<float>(), H_, token_of, slot_of_row, P_, f32(d_weights), s));
    MOE_CUDA_CHECK(kernels::scale_rows_by_slot_bf16(f32(dy), H_, token_of, slot_of_row, f32(weights), P_,
                                                    dye_->as<uint16_t>(), s));
    // A fused b_dh_ reads dz_down: the down LoRA's backward first then, else after (it adds to dh).
    if (down_dx_fused_) run_lora_backward(down_, lb_down_, I_, dh_->get(), nullptr);
    run(b_dh_);
    if (b_ddown_ >= 0) run(b_ddown_);
    if (down_.on && !down_dx_fused_)
        run_lora_backward(down_, lb_down_, I_, dh_->get(), dhd_ ? dhd_->as<float>() : nullptr);
    if (kept_)
        MOE_CUDA_CHECK(kernels::swiglu_backward_rows_bf16(kept_->gu->as<uint16_t>(), dh_->as<float>(), P_, I_,
                                                          dgu_->as<uint16_t>(), s));
    else
        MOE_CUDA_CHECK(kernels::swiglu_backward_rows_bf16(gu_->as<float>(), dh_->as<float>(), P_, I_,
                                                          dgu_->as<uint16_t>(), s));
    const float* dxd = dxd_ ? dxd_->as<float>() : nullptr;
    if (gate_dx_fused_) run_lora_backward(gate_, lb_gate_, H_, dxs_->get(), nullptr);  // dz_gate before b_dxs_
    run(b_dxs_);
    if (b_dgate_ >= 0) run(b_dgate_);
    if (b_dup_ >= 0) run(b_dup_);
    if (gate_.on && !gate_dx_fused_) run_lora_backward(gate_, lb_gate_, H_, dxs_->get(), dxd);
    if (up_.on) run_lora_backward(up_, lb_up_, H_, dxs_->get(), dxd);
    MOE_CUDA_CHECK(kernels::moe_combine(dxs_->as<float>(), map(row_of_slot_), nullptr, g_.T, g_.K, H_, f32(dx), s));
}

void check_routing(const Tensor& x, const RouterOutput& routing, const CudaExpertSetStorage& es, const char* op) {
    const int64_t T = x.rows(), K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, op);
    require_shape(routing.weights, T, K, op);
    if (es.n_experts == 0 || es.hidden != x.cols())
        throw_invalid_argument(std::string(op) + ": expert set does not match x");
}

}  // namespace

Tensor CudaBackend::moe_experts_train(const Tensor& x, const RouterOutput& routing, const ExpertSet& set,
                                      const ExpertLora* lora, std::shared_ptr<ExpertRows>* keep) {
    const CudaExpertSetStorage& es = expert_storage(set);
    check_routing(x, routing, es, "moe_experts_train");
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    Tensor out = make(T, H);
    if (T == 0 || K == 0) {
        zero(out);
        return out;
    }
    const std::vector<int32_t> ids = download_i32(routing.expert_ids);  // the router's early copy (ids_readback.h)
    auto rows = keep ? std::make_shared<CudaExpertRows>() : nullptr;
    ExpertGroups local;
    ExpertGroups& groups = rows ? rows->groups : local;
    groups = group_by_expert(ids, T, K, es.n_experts, H, es.inter);
    RoutedExpertsStep step(*ctx_, groups, es, lora, false, nullptr, nullptr);
    step.forward(x, rows.get());
    step.combine(routing.weights, out, rows.get());
    if (rows) {
        step.keep_rows(*rows);
        *keep = std::move(rows);
    }
    return out;
}

Tensor CudaBackend::moe_experts_backward(const Tensor& x, const RouterOutput& routing, const ExpertSet& set,
                                         const ExpertLora* lora, const Tensor& dy, Tensor& d_weights,
                                         ExpertGrads* grads, ExpertLoraGrads* lora_grads, const ExpertRows* kept) {
    const CudaExpertSetStorage& es = expert_storage(set);
    check_routing(x, routing, es, "moe_experts_backward");
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    require_shape(dy, T, H, "moe_experts_backward dy");
    Tensor dx = make(T, H);
    d_weights = make(T, K);
    if (T == 0 || K == 0) {
        zero(dx);
        return dx;
    }
    if (kept) {  // no sync: the forward's grouping and products
        const auto* rows = dynamic_cast<const CudaExpertRows*>(kept);
        if (!rows || rows->groups.T != T || rows->groups.K != K || rows->groups.E != es.n_experts)
            throw_invalid_argument("moe_experts_backward: the kept expert rows are not of this op's forward");
        RoutedExpertsStep step(*ctx_, rows->groups, es, lora, true, grads, lora_grads, {}, rows);
        step.restore(x);
        step.backward(routing.weights, dy, dx, d_weights);
        return dx;
    }
    const std::vector<int32_t> ids = download_i32(routing.expert_ids);  // the router's early copy (ids_readback.h)
    const ExpertGroups groups = group_by_expert(ids, T, K, es.n_experts, H, es.inter);
    RoutedExpertsStep step(*ctx_, groups, es, lora, true, grads, lora_grads);
    step.forward(x);
    step.backward(routing.weights, dy, dx, d_weights);
    return dx;
}

// Prefill (inference): the training forward's grouping and GEMMs (RoutedExpertsStep, no LoRA, no
// backward; where the tile kernel runs on a wgmma GPU, the gate/up GEMM's epilogue writes the
// SwiGLU rows itself; the down GEMM writes bf16 rows) and a combine kernel that adds w_k · y_k per
// token in k order, onto out's values when accumulate (moe_block: the shared expert's output). fp8 experts go to bf16
// for the GEMMs: the whole layer in one kernel when most experts are active and it fits
// kFp8WholeLayerBytes, else one active expert at a time (DeepSeek-V3's 256 experts), each GEMM
// over its exact rows through one reused buffer.
void CudaBackend::moe_prefill(const Tensor& x, const RouterOutput& routing, const ExpertSet& set, Tensor& out,
                              bool accumulate) {
    const CudaExpertSetStorage& es = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols(), E = es.n_experts, I = es.inter;
    const size_t layer_bf16_bytes = size_t(3 * I * H * E) * 2;
    if (device_grouped_prefill_available(E, H, I)) {  // no host sync (device_grouped_prefill.h)
        if (!es.fp8()) return device_grouped_prefill(*ctx_, x, routing, es.gate_up.get(), es.down.get(), E, I, out, accumulate);
        // fp8: the whole layer to bf16 when most experts will be busy (T·K ≥ 4E) and it fits, as below.
        if (T * K >= 4 * E && layer_bf16_bytes <= kFp8WholeLayerBytes) {
            const Fp8LayerInBf16 w(*ctx_, es);
            return device_grouped_prefill(*ctx_, x, routing, w.gate_up(), w.down(), E, I, out, accumulate);
        }
    }
    const std::vector<int32_t> ids = download_i32(routing.expert_ids);  // the router's early copy (ids_readback.h)
    const ExpertGroups groups = group_by_expert(ids, T, K, E, H, I);
    auto run_step = [&](Bf16Weights weights) {
        RoutedExpertsStep step(*ctx_, groups, es, nullptr, false, nullptr, nullptr, weights, nullptr, true);
        step.forward(x);
        step.combine(routing.weights, out, nullptr, accumulate);
    };
    if (!es.fp8()) return run_step({es.gate_up.get(), es.down.get()});
    if (2 * int64_t(groups.active.size()) >= E && layer_bf16_bytes <= kFp8WholeLayerBytes) {
        const Fp8LayerInBf16 w(*ctx_, es);
        return run_step({w.gate_up(), w.down()});
    }
    moe_prefill_fp8_per_expert(x, groups, es, routing.weights, out, accumulate);
}

// One active fp8 expert at a time: its gate|up, then its down, dequantised into one bf16 buffer
// reused in stream order, each GEMM over the expert's exact rows (padded groups' extra rows unread).
void CudaBackend::moe_prefill_fp8_per_expert(const Tensor& x, const ExpertGroups& g, const CudaExpertSetStorage& es,
                                             const Tensor& weights, Tensor& out, bool accumulate) {
    const int64_t H = es.hidden, I = es.inter;
    cudaStream_t s = ctx_->stream();
    Staging staging;
    const size_t token_of = staging.add(g.token_of), row_of_slot = staging.add(g.row_of_slot);
    ScratchPtr maps;
    const unsigned char* dev = staging.upload(*ctx_, maps);
    const auto* d_token_of = reinterpret_cast<const int32_t*>(dev + token_of);
    const auto* d_row_of_slot = reinterpret_cast<const int32_t*>(dev + row_of_slot);
    const bool gu16 = bf16_gate_up();
    const size_t gu_elem = gu16 ? 2 : 4;
    Scratch xp(*ctx_, size_t(g.P * H) * 2, "permuted bf16 expert inputs");
    Scratch gu(*ctx_, size_t(g.P * 2 * I) * gu_elem, "expert gate/up outputs");
    Scratch hb(*ctx_, size_t(g.P * I) * 2, "bf16 expert hidden activations");
    Scratch yp(*ctx_, size_t(g.P * H) * 4, "expert outputs");
    Scratch w16(*ctx_, size_t(2 * I * H) * 2, "an fp8 expert's bf16 weights");
    MOE_CUDA_CHECK(kernels::gather_rows_bf16(f32(x), H, d_token_of, g.P, xp.as<uint16_t>(), s));
    const kernels::Fp8Stack gu8 = gate_up_stack(es), dn8 = down_stack(es);
    for (int64_t e : g.active) {
        const int64_t o = g.offset[size_t(e)], n = g.count[size_t(e)];
        MOE_CUDA_CHECK(kernels::fp8_to_bf16(gu8, 2 * e, 2, w16.as<uint16_t>(), s));
        gemm_bf16(xp.as<uint16_t>() + o * H, n, H, w16.as<uint16_t>(), 2 * I, gu.as<char>() + size_t(o * 2 * I) * gu_elem,
                  2 * I, gu16);
    }
    MOE_CUDA_CHECK(swiglu_to_bf16(gu.as<void>(), gu16, g.P, I, hb.as<uint16_t>(), s));
    for (int64_t e : g.active) {
        const int64_t o = g.offset[size_t(e)], n = g.count[size_t(e)];
        MOE_CUDA_CHECK(kernels::fp8_to_bf16(dn8, e, 1, w16.as<uint16_t>(), s));
        gemm_bf16(hb.as<uint16_t>() + o * I, n, I, w16.as<uint16_t>(), H, yp.as<float>() + o * H, H);
    }
    MOE_CUDA_CHECK(kernels::moe_combine(yp.as<float>(), d_row_of_slot, f32(weights), g.T, g.K, H, f32(out), s, nullptr,
                                        accumulate));
}

}  // namespace moe
