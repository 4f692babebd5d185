// CUDA: greedy and temperature sampling on the device, and the whole Sampler inside decode steps
// (kernels/sampling.cu; CPU twin engine/generate/sampler.cpp, argmax() and Sampler).
#include <algorithm>
#include <limits>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "sampling.h"

namespace moe {

using namespace cuda;

Tensor CudaBackend::argmax_rows(const Tensor& logits) {
    Tensor out = make(logits.rows(), 1, DType::I32);
    MOE_CUDA_CHECK(kernels::argmax_rows(f32(logits), logits.rows(), logits.cols(), i32(out), ctx_->stream()));
    return out;
}

void CudaBackend::argmax_to(const Tensor& logits, int64_t row, int32_t* device_out) {
    if (row < 0 || row >= logits.rows()) throw_invalid_argument("argmax_to: row out of range");
    MOE_CUDA_CHECK(kernels::argmax_rows(f32(logits) + row * logits.cols(), 1, logits.cols(), device_out, ctx_->stream()));
}

void CudaBackend::sample_to(const Tensor& logits, float temperature, uint64_t seed, int32_t* step_counter,
                            int32_t* device_out) {
    if (!(temperature > 0.0f)) throw_invalid_argument("sample_to: temperature must be positive (use argmax_to)");
    MOE_CUDA_CHECK(kernels::sample_gumbel(f32(logits), logits.cols(), temperature, seed, step_counter, device_out,
                                          ctx_->stream()));
}

namespace {

// The device state of sampled decoding: cudaMalloc'd once, so a recorded decode step keeps reading
// the same addresses. Every upload is stream-ordered before the next step (pageable sources:
// cudaMemcpyAsync returns once the bytes are staged).
class CudaTokenSampler final : public TokenSampler {
public:
    CudaTokenSampler(std::shared_ptr<DeviceContext> ctx, int64_t vocab)
        : ctx_(std::move(ctx)),
          vocab_(vocab),
          config_(sizeof(kernels::SamplingConfig), "the sampler's parameters"),
          draw_(sizeof(uint64_t), "the sampler's draw index"),
          seen_(size_t(vocab), "the sampler's history flags"),
          scratch_(size_t(vocab) * sizeof(float), "the sampler's processed logits"),
          work_(kernels::sample_workspace_bytes(), "the sampler's histograms") {
        MOE_CUDA_CHECK(cudaMemsetAsync(work_.get(), 0, work_.bytes(), ctx_->stream()));
        clear_history();
        configure(SamplingParams{}, 0);
    }

    void configure(const SamplingParams& p, uint64_t next_draw) override {
        if (!(p.repetition_penalty > 0.0f)) throw_invalid_argument("repetition_penalty must be > 0");
        if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) throw_invalid_argument("top_p must be in (0, 1]");
        if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) throw_invalid_argument("min_p must be in [0, 1]");
        if (p.top_k < 0) throw_invalid_argument("top_k must be >= 0");
        kernels::SamplingConfig c;
        c.temperature = p.temperature;
        c.top_p = p.top_p;
        c.min_p = p.min_p;
        c.repetition_penalty = p.repetition_penalty;
        // A k past the row keeps everything, as one of int32's range does.
        c.top_k = int32_t(std::min<int64_t>(p.top_k, std::numeric_limits<int32_t>::max()));
        c.greedy = p.is_greedy() ? 1 : 0;
        c.seed = p.seed;
        cudaStream_t s = ctx_->stream();
        MOE_CUDA_CHECK(cudaMemcpyAsync(config_.get(), &c, sizeof c, cudaMemcpyHostToDevice, s));
        MOE_CUDA_CHECK(cudaMemcpyAsync(draw_.get(), &next_draw, sizeof next_draw, cudaMemcpyHostToDevice, s));
    }

    void clear_history() override { MOE_CUDA_CHECK(cudaMemsetAsync(seen_.get(), 0, seen_.bytes(), ctx_->stream())); }

    void add_history(std::span<const int32_t> ids) override {
        if (ids.empty()) return;
        const int64_t n = int64_t(ids.size());
        Tensor staged = make_tensor(ctx_, n, 1, DType::I32, Init::Poison);  // freed in stream order
        cudaStream_t s = ctx_->stream();
        MOE_CUDA_CHECK(cudaMemcpyAsync(i32(staged), ids.data(), ids.size_bytes(), cudaMemcpyHostToDevice, s));
        MOE_CUDA_CHECK(kernels::mark_seen(i32(staged), n, seen_.as<uint8_t>(), vocab_, s));
    }

    // logits [1, V], V <= vocab -> [1, 1] I32.
    Tensor sample(const Tensor& logits, int64_t cols) override {
        if (logits.rows() != 1 || logits.cols() > vocab_ || logits.dtype() != DType::F32)
            throw_invalid_argument("TokenSampler::sample: logits must be F32 [1, V], V <= the sampler's vocabulary");
        const int64_t n = cols <= 0 || cols >= logits.cols() ? logits.cols() : cols;
        Tensor out = make_tensor(ctx_, 1, 1, DType::I32, Init::Poison);
        MOE_CUDA_CHECK(kernels::sample_processed(f32(logits), n, state(), i32(out), ctx_->stream()));
        return out;
    }

private:
    kernels::SamplerState state() const {
        kernels::SamplerState s;
        s.config = config_.as<const kernels::SamplingConfig>();
        s.draw = draw_.as<uint64_t>();
        s.seen = seen_.as<uint8_t>();
        s.scratch = scratch_.as<float>();
        s.work = work_.get();
        s.vocab = vocab_;
        return s;
    }

    std::shared_ptr<DeviceContext> ctx_;
    int64_t vocab_;
    DeviceBuffer config_, draw_, seen_, scratch_, work_;
};

}  // namespace

std::unique_ptr<TokenSampler> CudaBackend::make_token_sampler(int64_t vocab) {
    if (vocab <= 0 || vocab > kernels::kMaxSampledVocab)
        throw_invalid_argument("make_token_sampler: a vocabulary of " + std::to_string(vocab) +
                               " is outside (0, 2^21]");
    return std::make_unique<CudaTokenSampler>(ctx_, vocab);
}

}  // namespace moe
