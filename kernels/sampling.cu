// Argmax / Gumbel-max over one row per block (1024 threads): a strided scan, then a block
// reduction that keeps the lowest index among equal values. Below them, sample_processed: the
// host Sampler's whole processing in one block (its comment says why each step is exact).
#include "common.cuh"
#include "sampling.h"

namespace moe::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int kBatch = 8;
constexpr float kNegInf = -__builtin_huge_valf();

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    if (bi < 0) return i >= 0;
    if (i < 0) return false;
    return v > bv || (v == bv && i < bi);
}

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// GUMBEL: value = logit / temperature - log(-log(u)), u in (0, 1) from (seed, step, index).
template <bool GUMBEL>
__global__ void __launch_bounds__(kThreads) argmax_kernel(const float* __restrict__ logits, int64_t vocab, float inv_temp,
                                                          uint64_t seed, int32_t* step_counter, int32_t* out) {
    pdl_begin();
    __shared__ float sv[kThreads / 32];
    __shared__ int si[kThreads / 32];
    const int64_t r = blockIdx.x;
    const float* row = logits + r * vocab;
    const uint64_t step = GUMBEL && step_counter ? uint64_t(*step_counter) : 0;
    float bv = kNegInf;
    int bi = -1;
    auto consider = [&](float v, int64_t i) {
        if (v != v) return;  // NaN never wins
        if constexpr (GUMBEL) {
            const uint64_t h = mix64(seed ^ mix64(step * 0x9e3779b97f4a7c15ull + uint64_t(i)));
            const float u = (float(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
            v = v * inv_temp - logf(-logf(u));
        }
        if (better(v, int(i), bv, bi)) {
            bv = v;
            bi = int(i);
        }
    };
    int64_t done = 0;
    if (vocab % 4 == 0 && (reinterpret_cast<uintptr_t>(row) % 16) == 0) {
        // 16-byte loads, kBatch of them in flight per thread: a one-load-per-iteration scan of a
        // 150k-entry row waited one memory latency per 1024 entries (~40 us per token).
        const float4* row4 = reinterpret_cast<const float4*>(row);
        const int64_t n4 = vocab / 4;
        for (int64_t base = threadIdx.x; base < n4; base += int64_t(kThreads) * kBatch) {
            float4 v[kBatch];
#pragma unroll
            for (int b = 0; b < kBatch; ++b)
                if (base + b * kThreads < n4) v[b] = __ldg(row4 + base + b * kThreads);
#pragma unroll
            for (int b = 0; b < kBatch; ++b) {
                const int64_t i4 = base + b * kThreads;
                if (i4 < n4) {
                    consider(v[b].x, 4 * i4);
                    consider(v[b].y, 4 * i4 + 1);
                    consider(v[b].z, 4 * i4 + 2);
                    consider(v[b].w, 4 * i4 + 3);
                }
            }
        }
        done = vocab;
    }
    for (int64_t i = done + threadIdx.x; i < vocab; i += kThreads) consider(row[i], i);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(kFullMask, bv, o);
        const int oi = __shfl_xor_sync(kFullMask, bi, o);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        sv[warp] = bv;
        si[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = sv[lane];
        bi = si[lane];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(kFullMask, bv, o);
            const int oi = __shfl_xor_sync(kFullMask, bi, o);
            if (better(ov, oi, bv, bi)) {
                bv = ov;
                bi = oi;
            }
        }
        if (lane == 0) {
            out[r] = bi < 0 ? 0 : bi;
            if (GUMBEL && step_counter) *step_counter += 1;
        }
    }
}

// ---- sample_processed ---------------------------------------------------------------------
//
// The host Sampler (engine/generate/sampler.cpp) processes the logits, then draws:
//   x_i = penalised(l_i) / temperature; top-k keeps x_i >= the k-th largest x (ties kept); top-p
//   keeps the prefix of the order (p descending, id ascending) whose mass first reaches top_p of
//   the top-k survivors' mass; min-p keeps p_i >= min_p * p_max; then one draw from the rest.
// Here, with no sort:
//   1. one pass writes x_i to scratch (the same float operations as the host, so the same values)
//      and finds the max m;
//   2. top-k: a radix select over the order-preserving 32-bit key of x (11 + 11 + 10 bits, a
//      histogram of counts per level, walking buckets from the top until k is reached) finds the
//      k-th largest value t_k EXACTLY: the largest value v with count(x >= v) >= k;
//   3. top-p: the same select over the survivors (key >= key(t_k)), weighted by mass
//      e_i = exp(x_i - m) in 2^-42 fixed point (integer sums: exact and independent of the order
//      atomics land in, so the same inputs always keep the same set), finds the value t_p of the
//      last kept token: the host keeps every x > t_p and, of the ties at t_p, the lowest ids first
//      until the mass reaches top_p · total: the same r lowest ids here (found by a block scan in
//      id order only when r is less than all of them). Masses are exp in f32 where the host sums
//      softmax probabilities in f64, so the kept set can differ only when the cumulative mass
//      lands within ~1e-6 (relative) of top_p;
//   4. min-p: p_i >= min_p · p_max is e_i >= min_p (both sides scaled by the same normaliser; the
//      max always survives top-k and top-p), a test per token;
//   5. the draw: Gumbel-max over the kept tokens, argmax (x_i - m) - log(E_i), E_i ~ Exp(1) from
//      (seed, draw index, id): exactly a draw from softmax over the kept set, whatever its size.
//      With no filter (temperature and penalty only) the draw is made in pass 1 and nothing else runs.
// Each pass over the row is its own kernel over the whole GPU (one 256-thread block per 1024
// columns): one block on one SM took ~0.25 ms a token over a 163,840-entry row, 9% of a decode
// step. A kernel boundary is the only grid-wide barrier, so what one level of a select decides is
// derived again by every block of the next kernel from the level's global histogram (the same
// integers, so the same answer; block 0 keeps it for the levels after). The order of kernels:
//   process (pass 1, top-k level 0) → histogram (top-k 1, 2; top-p 0, 1, 2) → filter (one block:
//   the max, the top-p tie cut) → draw (every block's best; the histograms zeroed for the next
//   draw) → finish (one block: the winner, the history flag, the draw index).
// Every kernel reads the parameters from device memory and returns at once when its step is off,
// so a recorded decode step runs all of them and follows a change of parameters between replays.

constexpr int kColThreads = 256;                                     // threads of a column kernel
constexpr int kColsPerThread = 4;
constexpr int kColsPerBlock = kColThreads * kColsPerThread;          // columns of one block
constexpr int kMaxColBlocks = int(kMaxSampledVocab / kColsPerBlock);
constexpr int kOneBlockThreads = 1024;                               // the filter kernel (tie scan)
constexpr int kMaxWarps = kOneBlockThreads / 32;
constexpr int kBuckets = 2048;                      // the widest radix digit: 11 bits
constexpr int kLevels = 3;                          // digits of 11, 11 and 10 bits, the top first
__device__ __forceinline__ int digit_bits(int level) { return level < 2 ? 11 : 10; }
__device__ __forceinline__ int digit_shift(int level) { return level == 0 ? 21 : (level == 1 ? 10 : 0); }
constexpr float kMassScale = 4398046511104.0f;      // 2^42: e_i in (0, 1] -> at most 2^42, V <= 2^21
constexpr int kNoCut = 0x7fffffff;

enum class Weigh { Count, Mass };
enum Select { kTopK = 0, kTopP = 1 };

struct SampleShared {
    unsigned int count[kBuckets];
    unsigned long long mass[kBuckets];
    float best_v[kMaxWarps];
    int best_i[kMaxWarps];
    unsigned int warp_hits[kMaxWarps];
    // The bucket search's answer (written by warp 0).
    unsigned int bucket;
    unsigned long long above_count, above_mass, need;
    bool all;
    int cut;
};

struct Histogram {
    unsigned int count[kBuckets];
    unsigned long long mass[kBuckets];
};

// What one level of a select decided.
struct LevelResult {
    uint32_t prefix = 0;  // the key's digits chosen so far, this level's included
    int all = 0;          // top-k: k reaches every candidate, the select keeps everything
    unsigned long long above_count = 0, above_mass = 0, need = 0, count_at = 0, mass_at = 0;
};

// The device workspace of one sampler (SamplerState::work), between the kernels of one draw.
struct SampleWork {
    Histogram hist[2][kLevels];  // [select][level]; all zero between draws
    LevelResult level[2][kLevels];
    float pass_v[kMaxColBlocks];  // pass 1's best (value, id) of each block
    int pass_i[kMaxColBlocks];
    float draw_v[kMaxColBlocks];  // the draw's best of each block
    int draw_i[kMaxColBlocks];
    float m;                      // the filter kernel's answers for the draw
    int live;                     // some x is finite
    uint32_t floor_key, p_key;
    int cut;
};

struct Mode {
    bool greedy, unfiltered, filtered, top_k, top_p;
};

__device__ __forceinline__ Mode mode_of(const SamplingConfig& c) {
    Mode m;
    m.greedy = c.greedy != 0;
    // No filter: the draw is Gumbel-max over every x, which needs neither m nor a second pass.
    m.unfiltered = !m.greedy && c.top_k == 0 && !(c.top_p < 1.0f) && !(c.min_p > 0.0f);
    m.filtered = !m.greedy && !m.unfiltered;
    m.top_k = m.filtered && c.top_k > 0;
    m.top_p = m.filtered && c.top_p < 1.0f;
    return m;
}

__device__ __forceinline__ SampleWork& work_of(const SamplerState& s) { return *static_cast<SampleWork*>(s.work); }

// Monotone in the float order: a < b (not NaN) <=> key(a) < key(b); -0 is made +0 before.
__device__ __forceinline__ uint32_t order_key(float x) {
    const uint32_t b = __float_as_uint(x);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The softmax numerator relative to the max: 1 for the max itself (also when m is +inf).
__device__ __forceinline__ float rel_weight(float x, float m) { return x == m ? 1.0f : expf(x - m); }

__device__ __forceinline__ unsigned long long fixed_mass(float e) { return __float2ull_rn(e * kMassScale); }

// The Sampler's processed logit (penalty, then the temperature unless greedy); NaN -> -inf.
__device__ __forceinline__ float processed(float v, bool seen, const SamplingConfig& c) {
    if (v != v) return kNegInf;
    if (seen) v = v > 0.0f ? v / c.repetition_penalty : v * c.repetition_penalty;
    if (!c.greedy) v = v / c.temperature;
    return v + 0.0f;  // -0 -> +0: equal values must have equal keys
}

// A standard Gumbel variate for (seed, draw, id): -log(E), E = -log(1 - u) ~ Exp(1), u uniform
// from 32 random bits. Small u (small E, large G: what lets an unlikely token win) keeps its full
// relative precision, so a token e^-20 below the max still wins at its rate.
__device__ __forceinline__ float gumbel(uint64_t seed, uint64_t draw, int64_t id) {
    const uint64_t h = mix64(mix64(seed ^ mix64(draw)) + uint64_t(id));
    const float u = fminf(fmaf(float(uint32_t(h >> 32)), 0x1p-32f, 0x1p-33f), 0x1.fffffep-1f);
    return -logf(-log1pf(-u));
}

// f(value, column) for this block's columns of row[0, n): thread t gets blockIdx·1024 + t,
// + 256, + 512, + 768, every load issued before the first use.
template <class F>
__device__ __forceinline__ void for_block_cols(const float* row, int64_t n, F&& f) {
    const int64_t base = int64_t(blockIdx.x) * kColsPerBlock + threadIdx.x;
    float v[kColsPerThread];
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) {
        const int64_t i = base + int64_t(j) * kColThreads;
        v[j] = i < n ? row[i] : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) {
        const int64_t i = base + int64_t(j) * kColThreads;
        if (i < n) f(v[j], i);
    }
}

// The block's best (value, id) under better(); every thread returns it.
__device__ void block_best(float& bv, int& bi, SampleShared& sh) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(kFullMask, bv, o);
        const int oi = __shfl_xor_sync(kFullMask, bi, o);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    if (lane == 0) {
        sh.best_v[warp] = bv;
        sh.best_i[warp] = bi;
    }
    __syncthreads();
    bv = sh.best_v[0];
    bi = sh.best_i[0];
    for (int w = 1; w < warps; ++w)
        if (better(sh.best_v[w], sh.best_i[w], bv, bi)) {
            bv = sh.best_v[w];
            bi = sh.best_i[w];
        }
    __syncthreads();  // sh is free again
}

// The best of n per-block bests; every thread returns it.
__device__ void best_of_blocks(const float* vs, const int* is, int n, float& bv, int& bi, SampleShared& sh) {
    bv = kNegInf;
    bi = -1;
    for (int b = threadIdx.x; b < n; b += blockDim.x)
        if (better(vs[b], is[b], bv, bi)) {
            bv = vs[b];
            bi = is[b];
        }
    block_best(bv, bi, sh);
}

// Warp 0, after a level's histogram: the bucket (from the top) where the running weight (counts or
// masses, plus `above` from the levels before) first reaches `need`; at level 0 it first sets
// `need` from the totals (top-k: k, or all when k >= the count; top-p: ceil(top_p · total mass)).
__device__ void find_bucket(SampleShared& sh, int level, Weigh weigh, int64_t top_k, float top_p) {
    const int lane = threadIdx.x;
    const int nb = 1 << digit_bits(level), span = nb / 32;
    const int hi = nb - 1 - lane * span;  // this lane's buckets: hi, hi - 1, ..., hi - span + 1
    unsigned long long own_c = 0, own_m = 0;
    for (int b = hi; b > hi - span; --b) {
        own_c += sh.count[b];
        own_m += sh.mass[b];
    }
    unsigned long long inc_c = own_c, inc_m = own_m;  // inclusive scan over lanes (lane 0: the top)
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long c = __shfl_up_sync(kFullMask, inc_c, o), m = __shfl_up_sync(kFullMask, inc_m, o);
        if (lane >= o) {
            inc_c += c;
            inc_m += m;
        }
    }
    unsigned long long above_c = sh.above_count, above_m = sh.above_mass, need = sh.need;
    if (level == 0) {
        above_c = above_m = 0;
        const unsigned long long total_c = __shfl_sync(kFullMask, inc_c, 31);
        const unsigned long long total_m = __shfl_sync(kFullMask, inc_m, 31);
        if (weigh == Weigh::Count) {
            need = (unsigned long long)top_k;
            if (need >= total_c) {  // k reaches every candidate: top-k keeps them all
                if (lane == 0) sh.all = true;
                return;
            }  // else the chosen lane below writes sh.all = false
        } else {
            need = (unsigned long long)ceil(double(top_p) * double(total_m));
            need = need < 1 ? 1 : (need > total_m ? total_m : need);
        }
    }
    const unsigned long long inc_w = weigh == Weigh::Count ? inc_c : inc_m;
    const unsigned long long above_w = weigh == Weigh::Count ? above_c : above_m;
    const unsigned int crossed = __ballot_sync(kFullMask, above_w + inc_w >= need);
    const int first = crossed ? __ffs(crossed) - 1 : 31;  // never 0 by construction; the last lane as a guard
    if (lane != first) return;
    unsigned long long acc_c = above_c + inc_c - own_c, acc_m = above_m + inc_m - own_m;
    int chosen = hi - span + 1;
    for (int b = hi; b > hi - span; --b) {
        const unsigned long long w = weigh == Weigh::Count ? sh.count[b] : sh.mass[b];
        if ((weigh == Weigh::Count ? acc_c : acc_m) + w >= need) {
            chosen = b;
            break;
        }
        acc_c += sh.count[b];
        acc_m += sh.mass[b];
    }
    sh.bucket = unsigned(chosen);
    sh.above_count = acc_c;
    sh.above_mass = acc_m;
    sh.need = need;
    sh.all = false;
}

// What level `level` of select `sel` decided, from its global histogram and the level before
// (kept by block 0 of an earlier kernel). Every block of the calling kernel gets the same answer;
// block 0 keeps it in the workspace for the kernels after.
__device__ LevelResult derive_level(SampleWork& w, int sel, int level, const SamplingConfig& c, SampleShared& sh) {
    const LevelResult prev = level > 0 ? w.level[sel][level - 1] : LevelResult{};
    LevelResult r;
    if (prev.all) {
        r.all = 1;
    } else {
        const Histogram& h = w.hist[sel][level];
        const int nb = 1 << digit_bits(level);
        for (int b = threadIdx.x; b < nb; b += blockDim.x) {
            sh.count[b] = h.count[b];
            sh.mass[b] = h.mass[b];
        }
        if (threadIdx.x == 0) {
            sh.above_count = prev.above_count;
            sh.above_mass = prev.above_mass;
            sh.need = prev.need;
        }
        __syncthreads();
        if (threadIdx.x < 32) find_bucket(sh, level, sel == kTopK ? Weigh::Count : Weigh::Mass, c.top_k, c.top_p);
        __syncthreads();
        r.all = sh.all ? 1 : 0;
        if (!r.all) {
            r.prefix = (prev.prefix << digit_bits(level)) | sh.bucket;
            r.above_count = sh.above_count;
            r.above_mass = sh.above_mass;
            r.need = sh.need;
            r.count_at = sh.count[sh.bucket];
            r.mass_at = sh.mass[sh.bucket];
        }
        __syncthreads();  // sh is free again
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) w.level[sel][level] = r;
    return r;
}

// Top-k's threshold key for top-p (0: top-k off or keeping everything); after top-k's last level
// is kept.
__device__ __forceinline__ uint32_t top_k_floor(const SampleWork& w, const Mode& mode) {
    const LevelResult& k = w.level[kTopK][kLevels - 1];
    return mode.top_k && !k.all ? k.prefix : 0u;
}

// Adds this block's histogram (sh, nb buckets) to the global one.
__device__ void flush_histogram(const SampleShared& sh, int nb, Weigh weigh, Histogram& h) {
    for (int b = threadIdx.x; b < nb; b += blockDim.x) {
        if (sh.count[b]) atomicAdd(&h.count[b], sh.count[b]);
        if (weigh == Weigh::Mass && sh.mass[b]) atomicAdd(&h.mass[b], sh.mass[b]);
    }
}

__device__ void clear_histogram(SampleShared& sh, int nb) {
    for (int b = threadIdx.x; b < nb; b += blockDim.x) {
        sh.count[b] = 0;
        sh.mass[b] = 0;
    }
    __syncthreads();
}

// Pass 1: x into scratch and the block's best (the argmax of x, or of x + Gumbel when unfiltered);
// top-k's level-0 histogram (counts need no m).
__global__ void __launch_bounds__(kColThreads)
    sample_process_kernel(const float* __restrict__ logits, int64_t cols, SamplerState s) {
    pdl_begin();
    __shared__ SampleShared sh;
    const SamplingConfig c = *s.config;
    const Mode mode = mode_of(c);
    const uint64_t draw = *s.draw;
    const bool penalise = c.repetition_penalty != 1.0f;
    if (mode.top_k) clear_histogram(sh, 1 << digit_bits(0));
    float m = kNegInf;
    int arg = -1;
    for_block_cols(logits, cols, [&](float v, int64_t i) {
        const float x = processed(v, penalise && s.seen[i], c);
        if (mode.filtered) {
            s.scratch[i] = x;
            if (mode.top_k && x != kNegInf) atomicAdd(&sh.count[order_key(x) >> digit_shift(0)], 1u);
        }
        const float score = mode.unfiltered && x != kNegInf ? x + gumbel(c.seed, draw, i) : x;
        if (v == v && better(score, int(i), m, arg)) {
            m = score;
            arg = int(i);
        }
    });
    block_best(m, arg, sh);  // its barrier also ends the histogram's atomics
    SampleWork& w = work_of(s);
    if (threadIdx.x == 0) {
        w.pass_v[blockIdx.x] = m;
        w.pass_i[blockIdx.x] = arg;
    }
    if (mode.top_k) flush_histogram(sh, 1 << digit_bits(0), Weigh::Count, w.hist[kTopK][0]);
}

// What the kernels between pass 1 and the draw start from: the parameters and, for a filtered draw,
// pass 1's best over its `blocks` blocks (m, arg; left at -inf / -1 otherwise: those kernels then
// have nothing to do).
struct FilteredStart {
    SamplingConfig c;
    Mode mode;
    float m = kNegInf;
    int arg = -1;
};

__device__ FilteredStart filtered_start(const SamplerState& s, int blocks, SampleShared& sh) {
    FilteredStart f;
    f.c = *s.config;
    f.mode = mode_of(f.c);
    if (f.mode.filtered) best_of_blocks(work_of(s).pass_v, work_of(s).pass_i, blocks, f.m, f.arg, sh);
    return f;
}

// One level of one select (top-k levels 1, 2; top-p levels 0, 1, 2): decides the level the kernel
// before histogrammed, then histograms the candidates that match the digits chosen so far.
__global__ void __launch_bounds__(kColThreads) sample_histogram_kernel(int64_t cols, SamplerState s, int sel, int level) {
    pdl_begin();
    __shared__ SampleShared sh;
    const FilteredStart f = filtered_start(s, int(gridDim.x), sh);
    const SamplingConfig& c = f.c;
    const Mode& mode = f.mode;
    const float m = f.m;
    if (!mode.filtered || f.arg < 0 || m == kNegInf) return;  // no filter, or nothing finite to select
    SampleWork& w = work_of(s);
    const int psel = level > 0 ? sel : kTopK, plevel = level > 0 ? level - 1 : kLevels - 1;
    LevelResult prev;
    if (psel == kTopK ? mode.top_k : mode.top_p) prev = derive_level(w, psel, plevel, c, sh);
    if (!(sel == kTopK ? mode.top_k : mode.top_p)) return;
    if (level > 0 && prev.all) return;
    const uint32_t floor_key = sel == kTopP ? (level == 0 ? (mode.top_k && !prev.all ? prev.prefix : 0u)
                                                          : top_k_floor(w, mode))
                                            : 0u;
    const uint32_t prefix = level > 0 ? prev.prefix : 0u;
    const int shift = digit_shift(level), nb = 1 << digit_bits(level);
    const Weigh weigh = sel == kTopK ? Weigh::Count : Weigh::Mass;
    clear_histogram(sh, nb);
    for_block_cols(s.scratch, cols, [&](float v, int64_t) {
        if (v == kNegInf) return;
        const uint32_t key = order_key(v);
        if (key < floor_key) return;
        if (level > 0 && (key >> (shift + digit_bits(level))) != prefix) return;
        const uint32_t b = (key >> shift) & uint32_t(nb - 1);
        atomicAdd(&sh.count[b], 1u);
        if (weigh == Weigh::Mass) atomicAdd(&sh.mass[b], fixed_mass(rel_weight(v, m)));
    });
    __syncthreads();
    flush_histogram(sh, nb, weigh, w.hist[sel][level]);
}

// The column of the r-th (1-based) candidate whose key is `key`, counting in column order.
__device__ int rth_column(const float* x, int64_t n, uint32_t key, unsigned long long r, SampleShared& sh) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    unsigned long long before = 0;
    for (int64_t base = 0; base < n; base += blockDim.x) {
        const int64_t i = base + threadIdx.x;
        const bool hit = i < n && x[i] != kNegInf && order_key(x[i]) == key;
        const unsigned long long here = (unsigned long long)__syncthreads_count(hit);
        if (before + here < r) {
            before += here;
            continue;
        }
        const unsigned int ballot = __ballot_sync(kFullMask, hit);
        if (lane == 0) sh.warp_hits[warp] = __popc(ballot);
        __syncthreads();
        unsigned long long rank = before + __popc(ballot & ((1u << lane) - 1u));
        for (int w = 0; w < warp; ++w) rank += sh.warp_hits[w];
        if (hit && rank + 1 == r) sh.cut = int(i);
        __syncthreads();
        const int cut = sh.cut;
        __syncthreads();
        return cut;
    }
    return kNoCut;  // unreachable: r <= the number of such candidates
}

// One block: m, top-p's last level and, when its ties are cut, the column of the cut (a scan in
// id order, only then). Leaves the draw's filter in the workspace.
__global__ void __launch_bounds__(kOneBlockThreads) sample_filter_kernel(int64_t cols, SamplerState s, int blocks) {
    pdl_begin();
    __shared__ SampleShared sh;
    const FilteredStart f = filtered_start(s, blocks, sh);
    const SamplingConfig& c = f.c;
    const Mode& mode = f.mode;
    const float m = f.m;
    if (!mode.filtered) return;
    SampleWork& w = work_of(s);
    const bool live = f.arg >= 0 && m != kNegInf;
    uint32_t p_key = 0;
    int cut = kNoCut;
    if (live && mode.top_p) {
        const LevelResult p = derive_level(w, kTopP, kLevels - 1, c, sh);
        p_key = p.prefix;
        const unsigned long long each = p.mass_at / p.count_at;  // ties have equal masses
        unsigned long long r = (p.need - p.above_mass + each - 1) / each;
        r = r < 1 ? 1 : (r > p.count_at ? p.count_at : r);
        if (r < p.count_at) cut = rth_column(s.scratch, cols, p_key, r, sh);
    }
    if (threadIdx.x == 0) {
        w.m = m;
        w.live = live ? 1 : 0;
        w.floor_key = live ? top_k_floor(w, mode) : 0u;
        w.p_key = p_key;
        w.cut = cut;
    }
}

// 4. min-p and 5. the draw: each block's best Gumbel score among its kept columns. Then the
// histograms are zeroed for the next draw (nothing reads them after the filter kernel).
__global__ void __launch_bounds__(kColThreads) sample_draw_kernel(int64_t cols, SamplerState s) {
    pdl_begin();
    __shared__ SampleShared sh;
    const SamplingConfig c = *s.config;
    const Mode mode = mode_of(c);
    SampleWork& w = work_of(s);
    if (mode.filtered) {
        const uint64_t draw = *s.draw;
        const float m = w.m;
        const uint32_t floor_key = w.floor_key, p_key = w.p_key;
        const int cut = w.cut;
        float best = kNegInf;
        int chosen = -1;
        if (w.live)
            for_block_cols(s.scratch, cols, [&](float x, int64_t i) {
                if (x == kNegInf) return;
                const uint32_t key = order_key(x);
                if (key < floor_key || key < p_key || (key == p_key && i > cut)) return;
                if (c.min_p > 0.0f && rel_weight(x, m) < c.min_p) return;
                const float score = (x == m ? 0.0f : x - m) + gumbel(c.seed, draw, i);
                if (better(score, int(i), best, chosen)) {
                    best = score;
                    chosen = int(i);
                }
            });
        block_best(best, chosen, sh);
        if (threadIdx.x == 0) {
            w.draw_v[blockIdx.x] = best;
            w.draw_i[blockIdx.x] = chosen;
        }
    }
    auto* words = reinterpret_cast<unsigned int*>(&w.hist[0][0]);
    constexpr int64_t kWords = int64_t(sizeof w.hist / sizeof(unsigned int));
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < kWords; i += int64_t(gridDim.x) * blockDim.x)
        words[i] = 0;
}

// One block: the winner (greedy: pass 1's argmax; unfiltered: pass 1's Gumbel-max; else the
// draw's), its history flag and the next draw index.
__global__ void __launch_bounds__(kColThreads) sample_finish_kernel(SamplerState s, int blocks, int32_t* out) {
    pdl_begin();
    __shared__ SampleShared sh;
    const SamplingConfig c = *s.config;
    const Mode mode = mode_of(c);
    const SampleWork& w = work_of(s);
    float best;
    int chosen;
    if (mode.filtered) {
        best_of_blocks(w.draw_v, w.draw_i, blocks, best, chosen, sh);
        if (!w.live) chosen = -1;
    } else {
        best_of_blocks(w.pass_v, w.pass_i, blocks, best, chosen, sh);
        if (mode.unfiltered && best == kNegInf) chosen = -1;  // nothing finite
    }
    if (threadIdx.x == 0) {
        out[0] = chosen;
        if (chosen >= 0) s.seen[chosen] = 1;
        *s.draw = *s.draw + 1;
    }
}

__global__ void mark_seen_kernel(const int32_t* __restrict__ ids, int64_t n, uint8_t* seen, int64_t vocab) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n && ids[i] >= 0 && ids[i] < vocab) seen[ids[i]] = 1;
}

}  // namespace

cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((argmax_kernel<false>));
    MOE_LAUNCH((argmax_kernel<false>), unsigned(rows), kThreads, 0, stream, logits, vocab, 1.0f, 0, nullptr, out);
    return cudaGetLastError();
}

cudaError_t sample_gumbel(const float* logits, int64_t vocab, float temperature, uint64_t seed, int32_t* step_counter,
                          int32_t* out, cudaStream_t stream) {
    if (!(temperature > 0.0f)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((argmax_kernel<true>));
    MOE_LAUNCH((argmax_kernel<true>), 1, kThreads, 0, stream, logits, vocab, 1.0f / temperature, seed, step_counter, out);
    return cudaGetLastError();
}

cudaError_t sample_processed(const float* logits, int64_t cols, const SamplerState& state, int32_t* out,
                             cudaStream_t stream) {
    if (cols <= 0 || cols > state.vocab || state.vocab > kMaxSampledVocab || !state.work) return cudaErrorInvalidValue;
    const int blocks = int(ceil_div(cols, int64_t(kColsPerBlock)));
    MOE_LAUNCH(sample_process_kernel, blocks, kColThreads, 0, stream, logits, cols, state);
    const int levels[][2] = {{kTopK, 1}, {kTopK, 2}, {kTopP, 0}, {kTopP, 1}, {kTopP, 2}};
    for (const auto& sl : levels)
        MOE_LAUNCH(sample_histogram_kernel, blocks, kColThreads, 0, stream, cols, state, sl[0], sl[1]);
    MOE_LAUNCH(sample_filter_kernel, 1, kOneBlockThreads, 0, stream, cols, state, blocks);
    MOE_LAUNCH(sample_draw_kernel, blocks, kColThreads, 0, stream, cols, state);
    MOE_LAUNCH(sample_finish_kernel, 1, kColThreads, 0, stream, state, blocks, out);
    return cudaGetLastError();
}

size_t sample_workspace_bytes() { return sizeof(SampleWork); }

cudaError_t mark_seen(const int32_t* ids, int64_t n, uint8_t* seen, int64_t vocab, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    constexpr int kThreadsPerBlock = 256;
    MOE_LAUNCH(mark_seen_kernel, ceil_div(n, kThreadsPerBlock), kThreadsPerBlock, 0, stream, ids, n, seen, vocab);
    return cudaGetLastError();
}

}  // namespace moe::kernels
