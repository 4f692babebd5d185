// Token sampling on the GPU (CPU twin: engine/generate/sampler.cpp). Greedy argmax (ties: the
// lowest index, as moe::argmax), temperature sampling by the Gumbel-max trick, which draws
// exactly from softmax(logits / temperature) with no sort and no host round trip, and the whole
// Sampler (penalty, temperature, top-k, top-p, min-p) by threshold searches (sampling.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// out[r] = argmax over logits[r, 0..vocab) for each of `rows` rows. Writes the chosen id to
// out[r]; NaN logits are never chosen unless the whole row is NaN (then id 0).
cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out, cudaStream_t stream);

// out[0] = argmax_i (logits[i] / temperature + Gumbel(seed, *step, i)); *step += 1 afterwards
// when step_counter is set (so a captured graph draws fresh noise on every replay).
cudaError_t sample_gumbel(const float* logits, int64_t vocab, float temperature, uint64_t seed, int32_t* step_counter,
                          int32_t* out, cudaStream_t stream);

// ---- sampling with the host Sampler's processing (engine/generate/sampler.h) ----------------
// The parameters, read from device memory by every launch, so a recorded decode step follows a
// change made between replays.
struct SamplingConfig {
    float temperature = 1.0f;         // > 0 unless greedy
    float top_p = 1.0f;               // 1: off
    float min_p = 0.0f;               // 0: off
    float repetition_penalty = 1.0f;  // 1: off
    int32_t top_k = 0;                // 0: off
    int32_t greedy = 0;               // 1: the argmax after the penalty (temperature and filters unused)
    uint64_t seed = 0;
};

// The device state one sampled generation keeps between draws (all device memory).
struct SamplerState {
    const SamplingConfig* config = nullptr;
    uint64_t* draw = nullptr;  // index of the next draw; the noise of draw n is a function of (seed, n, id)
    uint8_t* seen = nullptr;   // [vocab] 1 for every id in the history (the penalty's distinct tokens)
    float* scratch = nullptr;  // [vocab] the processed logits of the current draw
    void* work = nullptr;      // sample_workspace_bytes(), zero-filled once before the first draw
    int64_t vocab = 0;
};

// The bytes of SamplerState::work: the selects' histograms and each block's partial results
// between the kernels of one draw (~180 KB; the draw leaves the histograms zeroed again).
size_t sample_workspace_bytes();

// The largest row length sample_processed takes (its fixed-point masses sum without overflow).
constexpr int64_t kMaxSampledVocab = int64_t(1) << 21;

// out[0] = a draw from the processed distribution of logits[0, cols) (cols <= state.vocab), or -1
// when none of them is a number. Then seen[out] = 1 and *draw += 1, so a replayed graph draws the
// next token. A fixed sequence of kernels over the whole GPU, whatever the parameters (a recorded
// step follows a change of them); no host synchronisation.
cudaError_t sample_processed(const float* logits, int64_t cols, const SamplerState& state, int32_t* out,
                             cudaStream_t stream);

// seen[ids[i]] = 1 for each of n ids (those outside [0, vocab) are skipped).
cudaError_t mark_seen(const int32_t* ids, int64_t n, uint8_t* seen, int64_t vocab, cudaStream_t stream);

}  // namespace moe::kernels
