// CUDA: one sequence's decode steps as replayed device graphs (Backend::decode_step): one token a
// step, or the few rows of a speculative verification (the kernels read row t's position as the
// device-side first position + t).
//
// The first step of an owner runs its body once eagerly with the token ids and position read from
// device memory (set_device_inputs): that step's result, and every lazily made device buffer
// (router load counters, rope tables, kernel attributes) exists before recording. Then the body is
// captured into a graph that ends by packing every output into one device buffer (one gather
// kernel) and copying that to pinned host memory (one copy): a step with routing telemetry has 54
// outputs, and 54 copies of a few bytes each cost 6% of a Moonlight token. Every later step writes
// the token ids and position into device memory, replays the graph and waits for it (the step's
// only synchronisation). Memory the body allocates is allocated and freed
// inside the graph (stream-ordered allocation nodes), so the graph can be relaunched.
#include <algorithm>
#include <cstring>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "elementwise.h"

namespace moe {

using namespace cuda;

namespace {
// One output of a recorded step: its shape and where it lies in the packed buffers.
struct StepOutput {
    int64_t rows = 0, cols = 0;
    DType dtype = DType::F32;
    size_t offset = 0;  // in 4-byte words
};
}  // namespace

struct CudaBackend::StepGraph {
    Tensor tokens, pos;               // device I32 [T, 1] and [1, 1]: the step's inputs
    PinnedBuffer inputs;              // host side of their copies: T ids, then the position
    Tensor f32;                       // device F32 [T, f32_cols] when the step reads such rows
    PinnedBuffer f32_staging;         // its host side
    std::vector<StepOutput> outputs;  // the body's outputs as recorded
    DeviceBuffer packed;          // every output, back to back (4-byte words)
    PinnedBuffer staging;         // its host copy
    Graph graph;
};

namespace {

// The device bytes behind an F32 or I32 tensor.
const void* raw(const Tensor& t) {
    return t.dtype() == DType::I32 ? static_cast<const void*>(i32(t)) : static_cast<const void*>(f32(t));
}

// Packs the body's outputs into g.packed and copies that to g.staging (when capturing: one gather
// kernel per 64 outputs and one copy node).
void copy_outputs(const std::vector<Tensor>& from, const std::vector<StepOutput>& outputs, const DeviceBuffer& packed,
                  const PinnedBuffer& staging, cudaStream_t s) {
    if (from.size() != outputs.size())
        throw_invalid_argument("decode_step: the body returned a different number of tensors");
    kernels::CopySegments c;
    for (size_t i = 0; i < from.size(); ++i) {
        const StepOutput& o = outputs[i];
        if (from[i].rows() != o.rows || from[i].cols() != o.cols || from[i].dtype() != o.dtype)
            throw_invalid_argument("decode_step: the body returned a tensor of another shape than when recorded");
        c.src[c.n] = raw(from[i]);
        c.offset[c.n] = uint32_t(o.offset);
        c.words[c.n] = uint32_t(from[i].numel());
        if (++c.n == kernels::kMaxCopySegments || i + 1 == from.size()) {
            MOE_CUDA_CHECK(kernels::gather_segments(c, packed.get(), s));
            c.n = 0;
        }
    }
    MOE_CUDA_CHECK(cudaMemcpyAsync(staging.as<void>(), packed.get(), packed.bytes(), cudaMemcpyDeviceToHost, s));
}

}  // namespace

void CudaBackend::forget_steps(const void* owner) { steps_.erase(owner); }

std::vector<HostTensor> CudaBackend::decode_step(const void* owner, const StepInputs& in, const StepBody& body) {
    if (!step_graphs_ || dev_tokens_ || ctx_->capturing()) return Backend::decode_step(owner, in, body);
    const int64_t T = int64_t(in.tokens.size());
    if (T < 1) throw_invalid_argument("decode_step: no token");
    if (!in.f32.empty() && (in.f32_cols < 1 || int64_t(in.f32.size()) != T * in.f32_cols))
        throw_invalid_argument("decode_step: the F32 input is not [T, f32_cols]");
    cudaStream_t s = ctx_->stream();
    std::shared_ptr<StepGraph>& slot = steps_[owner];
    const bool first = !slot;
    if (first) {
        slot = std::make_shared<StepGraph>();
        slot->tokens = alloc(T, 1, DType::I32);
        slot->pos = alloc(1, 1, DType::I32);
        slot->inputs = PinnedBuffer(size_t(T + 1) * sizeof(int32_t));
        if (!in.f32.empty()) {
            slot->f32 = alloc(T, in.f32_cols);
            slot->f32_staging = PinnedBuffer(in.f32.size() * sizeof(float));
        }
    } else if (slot->tokens.rows() != T || slot->f32.numel() != int64_t(in.f32.size())) {
        throw_invalid_argument("decode_step: a step recorded for " + std::to_string(slot->tokens.rows()) +
                               " tokens and " + std::to_string(slot->f32.numel()) + " input values replayed with " +
                               std::to_string(T) + " and " + std::to_string(in.f32.size()));
    }
    StepGraph& g = *slot;
    // The previous step ended with a synchronisation, so the pinned inputs are free to reuse.
    int32_t* ids = g.inputs.as<int32_t>();
    std::copy(in.tokens.begin(), in.tokens.end(), ids);
    ids[T] = int32_t(in.pos);
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(g.tokens), ids, size_t(T) * 4, cudaMemcpyHostToDevice, s));
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(g.pos), &ids[T], 4, cudaMemcpyHostToDevice, s));
    if (!in.f32.empty()) {
        std::copy(in.f32.begin(), in.f32.end(), g.f32_staging.as<float>());
        MOE_CUDA_CHECK(cudaMemcpyAsync(f32(g.f32), g.f32_staging.as<float>(), in.f32.size() * 4,
                                       cudaMemcpyHostToDevice, s));
    }

    if (first) {
        set_device_inputs(i32(g.tokens), i32(g.pos));
        try {
            {
                const std::vector<Tensor> outs = body(g.f32);  // this step's result, eagerly
                size_t words = 0;
                for (const Tensor& t : outs) {
                    g.outputs.push_back({t.rows(), t.cols(), t.dtype(), words});
                    words += size_t(t.numel());
                }
                if (words >= (size_t(1) << 32)) throw_invalid_argument("decode_step: outputs above 16 GiB");
                g.packed = DeviceBuffer(std::max<size_t>(words, 1) * 4, "a decode step's packed outputs");
                g.staging = PinnedBuffer(std::max<size_t>(words, 1) * 4);
                copy_outputs(outs, g.outputs, g.packed, g.staging, s);
            }
            MOE_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
            try {
                const std::vector<Tensor> outs = body(g.f32);
                copy_outputs(outs, g.outputs, g.packed, g.staging, s);
            } catch (...) {
                cudaGraph_t broken = nullptr;
                (void)cudaStreamEndCapture(s, &broken);
                if (broken) (void)cudaGraphDestroy(broken);
                throw;
            }
            cudaGraph_t recorded = nullptr;
            MOE_CUDA_CHECK(cudaStreamEndCapture(s, &recorded));
            g.graph.adopt(recorded);
        } catch (...) {
            set_device_inputs(nullptr, nullptr);
            steps_.erase(owner);
            throw;
        }
        set_device_inputs(nullptr, nullptr);
    } else {
        g.graph.launch(s);
    }

    synchronize();
    const auto* staging = g.staging.as<const unsigned char>();
    std::vector<HostTensor> host;
    for (const StepOutput& o : g.outputs) {
        HostTensor h{o.rows, o.cols, o.dtype, {}, {}};
        const size_t n = size_t(o.rows * o.cols);
        if (o.dtype == DType::I32) {
            h.i32.resize(n);
            std::memcpy(h.i32.data(), staging + o.offset * 4, n * 4);
        } else {
            h.f32.resize(n);
            std::memcpy(h.f32.data(), staging + o.offset * 4, n * 4);
        }
        host.push_back(std::move(h));
    }
    return host;
}

}  // namespace moe
