// CUDA: batch-1 decode steps as replayed device graphs (Backend::decode_step).
//
// The first step of an owner runs its body once eagerly with the token id and position read from
// device memory (set_device_inputs): that step's result, and every lazily made device buffer
// (router load counters, rope tables, kernel attributes) exists before recording. Then the body is
// captured into a graph whose outputs are copied into buffers that outlive it. Every later step
// writes the token and position into device memory, replays the graph, and reads all outputs back
// with one synchronisation (the step's only one). Memory the body allocates is allocated and freed
// inside the graph (stream-ordered allocation nodes), so the graph can be relaunched.
#include <cstring>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"

namespace moe {

using namespace cuda;

struct CudaBackend::StepGraph {
    Tensor token, pos;          // device I32 [1, 1]: the step's inputs
    PinnedBuffer inputs;        // host side of the two input copies
    std::vector<Tensor> outs;   // the body's outputs, copied here by the graph
    PinnedBuffer staging;       // host side of the output copies
    std::vector<size_t> offsets;
    Graph graph;
};

namespace {

// The device bytes behind an F32 or I32 tensor.
void* raw(const Tensor& t) {
    return t.dtype() == DType::I32 ? static_cast<void*>(const_cast<int32_t*>(i32(t)))
                                   : static_cast<void*>(const_cast<float*>(f32(t)));
}

// Copies the body's outputs into the persistent buffers (a memcpy node per output when capturing).
void copy_outputs(const std::vector<Tensor>& from, std::vector<Tensor>& to, cudaStream_t s) {
    if (from.size() != to.size()) throw_invalid_argument("decode_step: the body returned a different number of tensors");
    for (size_t i = 0; i < from.size(); ++i) {
        if (from[i].rows() != to[i].rows() || from[i].cols() != to[i].cols() || from[i].dtype() != to[i].dtype())
            throw_invalid_argument("decode_step: the body returned a tensor of another shape than when recorded");
        MOE_CUDA_CHECK(
            cudaMemcpyAsync(raw(to[i]), raw(from[i]), size_t(from[i].numel()) * 4, cudaMemcpyDeviceToDevice, s));
    }
}

}  // namespace

void CudaBackend::forget_steps(const void* owner) { steps_.erase(owner); }

std::vector<HostTensor> CudaBackend::decode_step(const void* owner, int32_t token, int64_t pos,
                                                 const std::function<std::vector<Tensor>()>& body) {
    if (!step_graphs_ || dev_tokens_ || ctx_->capturing()) return Backend::decode_step(owner, token, pos, body);
    cudaStream_t s = ctx_->stream();
    std::shared_ptr<StepGraph>& slot = steps_[owner];
    const bool first = !slot;
    if (first) {
        slot = std::make_shared<StepGraph>();
        slot->token = alloc(1, 1, DType::I32);
        slot->pos = alloc(1, 1, DType::I32);
        slot->inputs = PinnedBuffer(2 * sizeof(int32_t));
    }
    StepGraph& g = *slot;
    // The previous step ended with a synchronisation, so the pinned inputs are free to reuse.
    int32_t* in = g.inputs.as<int32_t>();
    in[0] = token;
    in[1] = int32_t(pos);
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(g.token), &in[0], 4, cudaMemcpyHostToDevice, s));
    MOE_CUDA_CHECK(cudaMemcpyAsync(i32(g.pos), &in[1], 4, cudaMemcpyHostToDevice, s));

    if (first) {
        set_device_inputs(i32(g.token), i32(g.pos));
        try {
            {
                const std::vector<Tensor> outs = body();  // this step's result, eagerly
                size_t bytes = 0;
                for (const Tensor& t : outs) {
                    g.outs.push_back(make(t.rows(), t.cols(), t.dtype()));
                    g.offsets.push_back(bytes);
                    bytes += size_t(t.numel()) * 4;
                }
                g.staging = PinnedBuffer(bytes);
                copy_outputs(outs, g.outs, s);
            }
            MOE_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
            try {
                const std::vector<Tensor> outs = body();
                copy_outputs(outs, g.outs, s);
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

    auto* staging = g.staging.as<unsigned char>();
    for (size_t i = 0; i < g.outs.size(); ++i)
        MOE_CUDA_CHECK(cudaMemcpyAsync(staging + g.offsets[i], raw(g.outs[i]), size_t(g.outs[i].numel()) * 4,
                                       cudaMemcpyDeviceToHost, s));
    synchronize();
    std::vector<HostTensor> host;
    for (size_t i = 0; i < g.outs.size(); ++i) {
        const Tensor& t = g.outs[i];
        HostTensor h{t.rows(), t.cols(), t.dtype(), {}, {}};
        const size_t n = size_t(t.numel());
        if (t.dtype() == DType::I32) {
            h.i32.resize(n);
            std::memcpy(h.i32.data(), staging + g.offsets[i], n * 4);
        } else {
            h.f32.resize(n);
            std::memcpy(h.f32.data(), staging + g.offsets[i], n * 4);
        }
        host.push_back(std::move(h));
    }
    return host;
}

}  // namespace moe
