// CudaBackend: device, memory, weight loading and telemetry. The ops live in cuda_<op>.cpp.
#include "cuda/cuda_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "core/dtype.h"
#include "cuda/cuda_storage.h"
#include "cuda/expert_groups.h"
#include "cuda/fp8_experts.h"
#include "cuda/ids_readback.h"
#include "elementwise.h"
#include "io/checkpoint.h"
#include "moe.h"

namespace moe {

using namespace cuda;

CudaBackend::CudaBackend(const CudaBackendOptions& options)
    : ctx_(std::make_shared<DeviceContext>(require_cuda_device(options.device), options.debug_guards)),
      weight_bytes_(std::make_shared<WeightBytes>()),
      step_graphs_(options.step_graphs),
      prefill_score_bytes_(options.prefill_score_bytes),
      ids_readback_(std::make_unique<IdsReadback>()) {}

size_t CudaBackend::weight_bytes() const { return size_t(weight_bytes_->n.load()); }

CudaBackend::~CudaBackend() {
    if (ctx_) MOE_CUDA_WARN(cudaStreamSynchronize(ctx_->stream()));
}

std::string CudaBackend::name() const { return "cuda: " + ctx_->info().summary(); }

const CudaDeviceInfo& CudaBackend::device() const { return ctx_->info(); }
cudaStream_t CudaBackend::stream() const { return ctx_->stream(); }
void CudaBackend::synchronize() {
    MOE_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream()));
    // Index checks that only the device could make (cuda_context.h) report here, at the first sync after them.
    switch (ctx_->take_bad_index()) {
    case DeviceContext::BadIndex::None: return;
    case DeviceContext::BadIndex::GatherRows:
        throw_invalid_argument("gather_rows: an index was outside the rows of x (checked on the device, found at the next sync)");
    case DeviceContext::BadIndex::ScatterAddRows:
        throw_invalid_argument("scatter_add_rows: an index was outside the rows of dst (checked on the device, found at the next sync)");
    }
    throw_invalid_argument("a device-side index check failed");
}
int64_t CudaBackend::damaged_guards() { return ctx_->check_guards(); }

Tensor CudaBackend::make(int64_t rows, int64_t cols, DType dtype) { return make_tensor(ctx_, rows, cols, dtype, Init::Poison); }

Tensor CudaBackend::alloc(int64_t rows, int64_t cols, DType dtype) { return make_tensor(ctx_, rows, cols, dtype, Init::Zero); }

Tensor CudaBackend::upload(std::span<const float> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols) throw_invalid_argument("upload: data size does not match the shape");
    Tensor t = make(rows, cols);
    ctx_->upload(f32(t), data.data(), data.size_bytes());  // `data` may go right after
    return t;
}

Tensor CudaBackend::upload_i32(std::span<const int32_t> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols) throw_invalid_argument("upload_i32: data size does not match the shape");
    Tensor t = make(rows, cols, DType::I32);
    ctx_->upload(i32(t), data.data(), data.size_bytes());
    return t;
}

std::vector<float> CudaBackend::download(const Tensor& t) {
    std::vector<float> out(size_t(t.numel()));
    MOE_CUDA_CHECK(cudaMemcpyAsync(out.data(), f32(t), out.size() * 4, cudaMemcpyDeviceToHost, ctx_->stream()));
    synchronize();
    return out;
}

std::vector<std::vector<int32_t>> CudaBackend::download_i32_many(std::span<const Tensor> ts) {
    std::vector<std::vector<int32_t>> out;
    for (const Tensor& t : ts) {  // router ids already copied (all of a training step's): no wait at all
        std::optional<std::vector<int32_t>> ids = ids_readback_->get(t);
        if (!ids) break;
        out.push_back(std::move(*ids));
    }
    if (out.size() == ts.size()) return out;
    out.clear();
    size_t total = 0;
    for (const Tensor& t : ts) total += size_t(t.numel());
    if (!download_staging_ || download_staging_->bytes() < total * 4)
        download_staging_ = std::make_unique<PinnedBuffer>(std::max<size_t>(total * 4, size_t(1) << 20));
    int32_t* staged = download_staging_->as<int32_t>();
    size_t at = 0;
    for (const Tensor& t : ts) {  // queued back to back: the device is waited for once
        MOE_CUDA_CHECK(cudaMemcpyAsync(staged + at, i32(t), size_t(t.numel()) * 4, cudaMemcpyDeviceToHost, ctx_->stream()));
        at += size_t(t.numel());
    }
    synchronize();
    at = 0;
    for (const Tensor& t : ts) {
        out.emplace_back(staged + at, staged + at + t.numel());
        at += size_t(t.numel());
    }
    return out;
}

void CudaBackend::start_ids_readback(const Tensor& expert_ids) {
    if (expert_ids.rows() <= fused_max_tokens() || dev_tokens_ || ctx_->capturing()) return;
    ids_readback_->start(expert_ids, i32(expert_ids), ctx_->stream());
}

std::vector<int32_t> CudaBackend::download_i32(const Tensor& t) {
    if (std::optional<std::vector<int32_t>> ids = ids_readback_->get(t)) return std::move(*ids);  // a router's ids
    std::vector<int32_t> out(size_t(t.numel()));
    MOE_CUDA_CHECK(cudaMemcpyAsync(out.data(), i32(t), out.size() * 4, cudaMemcpyDeviceToHost, ctx_->stream()));
    synchronize();
    return out;
}

namespace {

std::shared_ptr<CudaWeightStorage> new_weight(int64_t rows, int64_t cols, const std::string& what,
                                              const std::shared_ptr<WeightBytes>& counter) {
    auto s = std::make_shared<CudaWeightStorage>();
    s->rows = rows;
    s->cols = cols;
    s->data = DeviceBuffer(size_t(rows * cols) * 2, what.c_str());
    s->counter = counter;
    counter->n += int64_t(s->data.bytes());
    return s;
}

}  // namespace

// Every host-to-device copy goes on the compute stream: a plain cudaMemcpy runs on the legacy
// default stream, which our non-blocking stream does not wait for, and from pageable memory it may
// return before the data has landed, so a kernel could read a half-copied weight. From pageable
// memory cudaMemcpyAsync returns once the source is staged: the host buffer may be reused at once.
Weight CudaBackend::load_weight(const WeightMatrix& m) {
    const int64_t rows = m.rows(), cols = m.cols();
    const std::string what = "weight " + (m.weight() ? m.weight()->name : std::string("?")) + " [" +
                             std::to_string(rows) + ", " + std::to_string(cols) + "] bf16";
    auto s = new_weight(rows, cols, what, weight_bytes_);
    const size_t row_bytes = size_t(cols) * 2;
    if (m.dtype() == DType::BF16 && !m.scale_inv()) {
        // Already bf16: straight from the mapped file.
        MOE_CUDA_CHECK(cudaMemcpyAsync(s->data.get(), m.weight()->data, size_t(rows) * row_bytes, cudaMemcpyHostToDevice,
                                       ctx_->stream()));
    } else if (dequantise_fp8_on_device(m, s->data.as<uint16_t>(), ctx_->stream())) {
        // fp8 with block scales in a shape the kernels take: copied as stored, dequantised there.
    } else {
        // fp8 in other shapes (block-dequantised by WeightMatrix), f16, f32: through f32 on the host,
        // a slab of rows at a time.
        const int64_t slab = std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(cols, 1));
        std::vector<float> f(size_t(std::min(slab, rows) * cols));
        std::vector<uint16_t> b(f.size());
        for (int64_t r0 = 0; r0 < rows; r0 += slab) {
            const int64_t n = std::min(slab, rows - r0);
            m.rows_f32(r0, n, f.data());
            for (int64_t i = 0; i < n * cols; ++i) b[size_t(i)] = f32_to_bf16(f[size_t(i)]);
            MOE_CUDA_CHECK(cudaMemcpyAsync(s->data.as<unsigned char>() + size_t(r0) * row_bytes, b.data(),
                                           size_t(n) * row_bytes, cudaMemcpyHostToDevice, ctx_->stream()));
        }
    }
    return Weight(std::move(s), rows, cols);
}

Weight CudaBackend::weight_from_f32(std::span<const float> data, int64_t rows, int64_t cols) {
    if (int64_t(data.size()) != rows * cols) throw_invalid_argument("weight_from_f32: data size does not match the shape");
    auto s = new_weight(rows, cols, "a weight", weight_bytes_);
    std::vector<uint16_t> b(data.size());
    for (size_t i = 0; i < data.size(); ++i) b[i] = f32_to_bf16(data[i]);
    MOE_CUDA_CHECK(cudaMemcpyAsync(s->data.get(), b.data(), b.size() * 2, cudaMemcpyHostToDevice, ctx_->stream()));
    return Weight(std::move(s), rows, cols);
}

ExpertSet CudaBackend::make_expert_set(std::vector<FfnWeights> experts) {
    auto s = std::make_shared<CudaExpertSetStorage>();
    s->n_experts = int64_t(experts.size());
    if (experts.empty()) return ExpertSet{std::move(s), 0};
    s->inter = experts[0].gate.rows();
    s->hidden = experts[0].gate.cols();
    const size_t mat = size_t(s->inter * s->hidden) * 2;
    s->gate_up = DeviceBuffer(2 * mat * experts.size(), "the stacked expert gate/up weights");
    s->down = DeviceBuffer(mat * experts.size(), "the stacked expert down weights");
    auto* gu = s->gate_up.as<unsigned char>();
    auto* dn = s->down.as<unsigned char>();
    for (size_t e = 0; e < experts.size(); ++e) {
        const auto& g = weight_storage(experts[e].gate);
        const auto& u = weight_storage(experts[e].up);
        const auto& d = weight_storage(experts[e].down);
        if (g.rows != s->inter || g.cols != s->hidden || u.rows != s->inter || u.cols != s->hidden ||
            d.rows != s->hidden || d.cols != s->inter)
            throw_invalid_argument("make_expert_set: experts must all have the same shapes");
        MOE_CUDA_CHECK(cudaMemcpyAsync(gu + 2 * mat * e, g.data.get(), mat, cudaMemcpyDeviceToDevice, ctx_->stream()));
        MOE_CUDA_CHECK(cudaMemcpyAsync(gu + 2 * mat * e + mat, u.data.get(), mat, cudaMemcpyDeviceToDevice, ctx_->stream()));
        MOE_CUDA_CHECK(cudaMemcpyAsync(dn + mat * e, d.data.get(), mat, cudaMemcpyDeviceToDevice, ctx_->stream()));
    }
    synchronize();  // the per-expert weights are freed (and uncounted) when `experts` goes
    s->counter = weight_bytes_;
    weight_bytes_->n += int64_t(s->gate_up.bytes() + s->down.bytes());
    return ExpertSet{std::move(s), int64_t(experts.size())};
}

// ---- training: weights made from F32 master tensors ---------------------------------------------
// The device keeps a bf16 copy (what the GEMMs read); refresh_weight / refresh_expert_set convert
// the masters again after an optimiser step.

namespace {

void require_master(const Tensor& master, const char* what) {
    if (master.dtype() != DType::F32) throw_invalid_argument(std::string(what) + ": weight masters are F32 tensors");
}

// gate / up [E * inter, hidden], down [E * hidden, inter]; returns {inter, hidden}.
std::pair<int64_t, int64_t> expert_master_dims(const Tensor& gate, const Tensor& up, const Tensor& down, int64_t E) {
    require_master(gate, "expert masters");
    require_master(up, "expert masters");
    require_master(down, "expert masters");
    if (E <= 0 || gate.rows() % E != 0 || down.rows() % E != 0)
        throw_invalid_argument("expert masters: row counts are not a multiple of the expert count");
    require_shape(up, gate.rows(), gate.cols(), "expert up master");
    const int64_t inter = gate.rows() / E, hidden = down.rows() / E;
    if (gate.cols() != hidden || down.cols() != inter)
        throw_invalid_argument("expert masters: gate/up [E*inter, hidden] and down [E*hidden, inter] do not fit");
    return {inter, hidden};
}

}  // namespace

Weight CudaBackend::weight_from_tensor(const Tensor& master) {
    require_master(master, "weight_from_tensor");
    const int64_t rows = master.rows(), cols = master.cols();
    auto s = new_weight(rows, cols, "trainable weight [" + std::to_string(rows) + ", " + std::to_string(cols) + "] bf16",
                        weight_bytes_);
    s->master = master.storage();
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(master), cols, rows, cols, s->data.as<uint16_t>(), cols, ctx_->stream()));
    return Weight(std::move(s), rows, cols);
}

void CudaBackend::refresh_weight(const Weight& w, const Tensor& master) {
    const CudaWeightStorage& ws = weight_storage(w);
    if (ws.master != master.storage()) throw_invalid_argument("refresh_weight: the weight was not made from this master");
    require_shape(master, ws.rows, ws.cols, "refresh_weight master");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(master), ws.cols, ws.rows, ws.cols, ws.data.as<uint16_t>(), ws.cols,
                                           ctx_->stream()));
}

ExpertSet CudaBackend::expert_set_from_tensors(const Tensor& gate, const Tensor& up, const Tensor& down, int64_t E) {
    const auto [inter, hidden] = expert_master_dims(gate, up, down, E);
    auto s = std::make_shared<CudaExpertSetStorage>();
    s->n_experts = E;
    s->inter = inter;
    s->hidden = hidden;
    s->master_gate = gate.storage();
    const size_t mat = size_t(inter * hidden) * 2;
    s->gate_up = DeviceBuffer(2 * mat * size_t(E), "the stacked trainable expert gate/up weights");
    s->down = DeviceBuffer(mat * size_t(E), "the stacked trainable expert down weights");
    s->counter = weight_bytes_;
    weight_bytes_->n += int64_t(s->gate_up.bytes() + s->down.bytes());
    ExpertSet set{std::move(s), E};
    refresh_expert_set(set, gate, up, down);
    return set;
}

void CudaBackend::refresh_expert_set(const ExpertSet& set, const Tensor& gate, const Tensor& up, const Tensor& down) {
    const CudaExpertSetStorage& s = expert_storage(set);
    if (s.master_gate != gate.storage())
        throw_invalid_argument("refresh_expert_set: the set was not made from these masters");
    const auto [inter, hidden] = expert_master_dims(gate, up, down, s.n_experts);
    if (inter != s.inter || hidden != s.hidden) throw_invalid_argument("refresh_expert_set: the masters changed shape");
    cudaStream_t st = ctx_->stream();
    MOE_CUDA_CHECK(kernels::stack_gate_up_bf16(f32(gate), f32(up), s.n_experts, inter, hidden, s.gate_up.as<uint16_t>(), st));
    // down [E * hidden, inter] is already the stacked [E, hidden, inter] layout.
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(down), inter, s.n_experts * hidden, inter, s.down.as<uint16_t>(), inter, st));
}

Weight CudaBackend::random_weight(int64_t rows, int64_t cols, uint64_t seed, float scale) {
    auto s = new_weight(rows, cols, "synthetic weight [" + std::to_string(rows) + ", " + std::to_string(cols) + "]",
                        weight_bytes_);
    MOE_CUDA_CHECK(kernels::fill_random_bf16(s->data.as<uint16_t>(), rows * cols, seed, scale, ctx_->stream()));
    return Weight(std::move(s), rows, cols);
}

Tensor CudaBackend::random_tensor(int64_t rows, int64_t cols, uint64_t seed, float center, float scale) {
    Tensor t = make(rows, cols);
    MOE_CUDA_CHECK(kernels::fill_random_f32(f32(t), rows * cols, seed, center, scale, ctx_->stream()));
    return t;
}

ExpertSet CudaBackend::random_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed, float scale) {
    auto s = std::make_shared<CudaExpertSetStorage>();
    s->n_experts = n_experts;
    s->hidden = hidden;
    s->inter = inter;
    const int64_t mat = inter * hidden;
    // Down projections have fan-in `inter`: scale them so outputs stay O(1) like the others.
    const float down_scale = scale * std::sqrt(float(hidden) / float(inter));
    if (random_experts_fp8_ && kernels::fp8_shape_ok(hidden, 128, 128) && kernels::fp8_shape_ok(inter, 128, 128))
        return random_fp8_expert_set(n_experts, hidden, inter, seed, scale, down_scale);
    s->gate_up = DeviceBuffer(size_t(2 * mat * n_experts) * 2, "synthetic expert gate/up weights");
    s->down = DeviceBuffer(size_t(mat * n_experts) * 2, "synthetic expert down weights");
    MOE_CUDA_CHECK(kernels::fill_random_bf16(s->gate_up.as<uint16_t>(), 2 * mat * n_experts, seed, scale, ctx_->stream()));
    MOE_CUDA_CHECK(kernels::fill_random_bf16(s->down.as<uint16_t>(), mat * n_experts, seed + 1, down_scale, ctx_->stream()));
    s->counter = weight_bytes_;
    weight_bytes_->n += int64_t(s->gate_up.bytes() + s->down.bytes());
    return ExpertSet{std::move(s), n_experts};
}

void CudaBackend::set_device_inputs(const int32_t* d_tokens, const int32_t* d_pos) {
    dev_tokens_ = d_tokens;
    dev_pos_ = d_pos;
}

const float* CudaBackend::inv_freq_on_device(const RopeTable& table) {
    auto it = rope_tables_.find(table.inv_freq);
    if (it == rope_tables_.end()) {
        if (ctx_->capturing())
            throw Error("cuda.graph_capture", "", "a new RoPE table cannot be uploaded while a CUDA graph is captured");
        auto buf = std::make_shared<DeviceBuffer>(table.inv_freq.size() * 4, "a RoPE table");
        MOE_CUDA_CHECK(cudaMemcpyAsync(buf->get(), table.inv_freq.data(), table.inv_freq.size() * 4, cudaMemcpyHostToDevice,
                                       ctx_->stream()));
        it = rope_tables_.emplace(table.inv_freq, std::move(buf)).first;
    }
    return it->second->as<const float>();
}

// ---- routing telemetry ------------------------------------------------------------------------

struct CudaBackend::LoadReadback {
    PinnedBuffer host;
    Event done;
    bool pending = false;
};

std::vector<uint64_t> CudaBackend::expert_load(const Weight& gate) {
    const auto& g = weight_storage(gate);
    std::vector<uint64_t> out(size_t(g.rows), 0);
    if (!g.load_counts.get()) return out;
    MOE_CUDA_CHECK(cudaMemcpyAsync(out.data(), g.load_counts.get(), out.size() * 8, cudaMemcpyDeviceToHost, ctx_->stream()));
    synchronize();
    return out;
}

void CudaBackend::request_expert_load(const Weight& gate) {
    const auto& g = weight_storage(gate);
    if (!g.load_counts.get()) return;
    auto& rb = load_readbacks_[gate.storage()];
    if (!rb) {
        rb = std::make_shared<LoadReadback>();
        rb->host = PinnedBuffer(size_t(g.rows) * 8);
    }
    if (rb->pending) return;  // the previous copy is still in flight
    // The side stream waits for the routing work queued so far, copies, and records `done`; the
    // compute stream never waits for the copy.
    Event routed(cudaEventDisableTiming);
    MOE_CUDA_CHECK(cudaEventRecord(routed.get(), ctx_->stream()));
    MOE_CUDA_CHECK(cudaStreamWaitEvent(ctx_->side_stream(), routed.get(), 0));
    MOE_CUDA_CHECK(cudaMemcpyAsync(rb->host.as<void>(), g.load_counts.get(), size_t(g.rows) * 8, cudaMemcpyDeviceToHost,
                                   ctx_->side_stream()));
    MOE_CUDA_CHECK(cudaEventRecord(rb->done.get(), ctx_->side_stream()));
    rb->pending = true;
}

bool CudaBackend::poll_expert_load(const Weight& gate, std::vector<uint64_t>& out) {
    auto it = load_readbacks_.find(gate.storage());
    if (it == load_readbacks_.end() || !it->second->pending) return false;
    const cudaError_t q = cudaEventQuery(it->second->done.get());
    if (q == cudaErrorNotReady) {
        (void)cudaGetLastError();
        return false;
    }
    MOE_CUDA_CHECK(q);
    const auto& g = weight_storage(gate);
    const auto* p = it->second->host.as<const uint64_t>();
    out.assign(p, p + g.rows);
    it->second->pending = false;
    return true;
}

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

std::string cuda_unavailable_reason() { return cuda::cuda_unavailable_reason(); }

}  // namespace moe
