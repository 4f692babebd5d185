// GPU sampling vs the CPU twin: argmax (ties to the lowest index, as moe::argmax) on random rows
// with planted ties, Gumbel-max temperature sampling against the softmax distribution, and the
// device TokenSampler (Backend::make_token_sampler: the host Sampler's whole processing, drawn on
// the device) against Sampler::probabilities:
//   - distributions: for temperature, top-k, top-p, min-p, repetition penalty and all combined, on
//     a small vocabulary and on a real-size one (163,840), Pearson's chi-square of the GPU's counts
//     against n · the CPU's probabilities (bound below), and no draw of a token the CPU gives 0;
//   - exact checks: top-k 1 and greedy-with-penalty are the (penalised) argmax; columns past the
//     limit, NaN and -inf are never drawn; ties at the k-th value are all kept and ties at the
//     top-p boundary keep the lowest ids, also across the block's 1024-column chunks; the same
//     seed and draw index give the same tokens.
// Then the model path (Model::forward_sample, a recorded decode step ending in the draw) on the
// HF fixtures, and the Generator using it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "cuda_test_util.h"
#include "generate/generator.h"
#include "generate/sampler.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

using CudaSampling = CudaTest;

TEST_F(CudaSampling, ArgmaxMatchesTheCpuArgmax) {
    const int64_t rows = 5, vocab = 151936;
    auto x = random_f32(size_t(rows * vocab), seed, -10.0f, 10.0f);
    x[size_t(1 * vocab + 100)] = 50.0f;  // a tie in row 1: the lower index wins
    x[size_t(1 * vocab + 90000)] = 50.0f;
    x[size_t(2 * vocab + 3)] = NAN;      // NaN never wins
    const auto ids = gpu->download_i32(gpu->argmax_rows(gpu->upload(x, rows, vocab)));
    for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> row(x.begin() + r * vocab, x.begin() + (r + 1) * vocab);
        for (float& v : row)
            if (std::isnan(v)) v = -INFINITY;
        EXPECT_EQ(ids[size_t(r)], argmax(row)) << "row " << r;
    }
    EXPECT_EQ(ids[1], 100);
}

TEST_F(CudaSampling, GumbelSamplesFollowTheSoftmax) {
    const std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f, 0.0f, 3.0f, 2.5f};
    const float temp = 0.8f;
    Tensor l = gpu->upload(logits, 1, int64_t(logits.size()));
    Tensor step = gpu->alloc(1, 1, DType::I32), out = gpu->alloc(1, 1, DType::I32);
    const int n = 20000;
    Tensor all = gpu->alloc(n, 1, DType::I32);
    for (int i = 0; i < n; ++i) gpu->sample_to(l, temp, seed, i32_ptr(step), i32_ptr(all) + i);
    const auto draws = gpu->download_i32(all);
    std::vector<double> p(logits.size());
    double z = 0;
    for (size_t i = 0; i < p.size(); ++i) z += p[i] = std::exp(logits[i] / temp);
    std::vector<int> count(logits.size(), 0);
    for (int32_t d : draws) {
        ASSERT_GE(d, 0);
        ASSERT_LT(d, int32_t(logits.size()));
        ++count[size_t(d)];
    }
    double chi2 = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        const double e = n * p[i] / z;
        chi2 += (count[i] - e) * (count[i] - e) / e;
    }
    EXPECT_LT(chi2, 30.0) << "7 degrees of freedom: 30 is far in the tail (p < 1e-4)";
    EXPECT_EQ(gpu->download_i32(step)[0], n);
}

// ---- the device TokenSampler ----------------------------------------------------------------

constexpr float kInf = std::numeric_limits<float>::infinity();

// What the generator's host path draws from: the columns past `cols` masked, then the Sampler.
std::vector<float> cpu_probabilities(std::vector<float> logits, int64_t cols, const SamplingParams& p,
                                     const std::vector<int32_t>& history) {
    for (size_t i = size_t(cols); i < logits.size(); ++i) logits[i] = -kInf;
    return Sampler(p).probabilities(logits, history);
}

// n draws of the device sampler from logits [V] (first `cols` columns), each from the same
// history (the sampler adds what it draws, so the history is set again before each draw).
std::vector<int64_t> gpu_counts(CudaBackend& gpu, const std::vector<float>& logits, int64_t cols,
                                const SamplingParams& p, const std::vector<int32_t>& history, int n) {
    const int64_t vocab = int64_t(logits.size());
    auto sampler = gpu.make_token_sampler(vocab);
    sampler->configure(p, 0);
    const Tensor l = gpu.upload(logits, 1, vocab);
    std::vector<int64_t> count(logits.size(), 0);
    for (int i = 0; i < n; ++i) {
        if (p.repetition_penalty != 1.0f) {
            sampler->clear_history();
            sampler->add_history(history);
        }
        const int32_t id = gpu.download_i32(sampler->sample(l, cols)).at(0);
        if (id < 0 || id >= vocab) {
            ADD_FAILURE() << "draw " << i << " gave id " << id;
            break;
        }
        ++count[size_t(id)];
    }
    return count;
}

// The (1 - 1e-6) quantile of chi-square with df degrees of freedom, by Wilson-Hilferty
// (z = 4.753 is the standard normal's 1e-6 upper quantile); slightly above the exact value for
// small df (df 1: 27.5 vs 23.9), so the bound errs towards passing a correct sampler.
double chi_square_bound(int df) {
    const double z = 4.753, a = 2.0 / (9.0 * df);
    return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Whether counts (n draws) follow probabilities p. Exact part: a token with p = 0 is never drawn.
// Statistical part: Pearson's X² = Σ (count - n p)² / (n p) over the tokens expected at least 5
// times, the rest pooled into one bin (left out when it too expects fewer than 5). If the GPU
// draws from p, X² follows chi-square with bins - 1 degrees of freedom (the usual large-count
// approximation, valid at >= 5 per bin), so it passes the 1e-6 tail bound in all but one run in a
// million (every run draws fresh logits and seeds). A sampler that keeps a wrong set, scales by a
// wrong temperature or penalises the wrong tokens moves whole bins by many standard deviations:
// with n = 20000, a token of p = 0.05 (1000 expected) drawn 1200 times adds 200² / 1000 = 40 alone.
::testing::AssertionResult follows(const std::vector<int64_t>& count, const std::vector<float>& p, int64_t n) {
    double chi2 = 0, pooled_expect = 0, pooled_count = 0;
    int bins = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] <= 0.0f) {
            if (count[i] > 0)
                return ::testing::AssertionFailure()
                       << "token " << i << " drawn " << count[i] << " times, CPU probability 0";
            continue;
        }
        const double e = double(n) * p[i];
        if (e < 5.0) {
            pooled_expect += e;
            pooled_count += double(count[i]);
            continue;
        }
        chi2 += (double(count[i]) - e) * (double(count[i]) - e) / e;
        ++bins;
    }
    if (pooled_expect >= 5.0) {
        chi2 += (pooled_count - pooled_expect) * (pooled_count - pooled_expect) / pooled_expect;
        ++bins;
    }
    if (bins < 2) return ::testing::AssertionSuccess() << "one bin: only the exact part applies";
    const double bound = chi_square_bound(bins - 1);
    if (chi2 > bound)
        return ::testing::AssertionFailure() << "X² " << chi2 << " over " << bins << " bins exceeds " << bound;
    return ::testing::AssertionSuccess() << "X² " << chi2 << " over " << bins << " bins (bound " << bound << ")";
}

struct Setting {
    const char* name;
    SamplingParams p;
};

std::vector<Setting> settings(uint64_t seed) {
    std::vector<Setting> s;
    auto make = [&](const char* name, float t, int64_t k, float top_p, float min_p, float penalty) {
        SamplingParams p;
        p.temperature = t;
        p.top_k = k;
        p.top_p = top_p;
        p.min_p = min_p;
        p.repetition_penalty = penalty;
        p.seed = seed + s.size();
        s.push_back({name, p});
    };
    make("temperature 0.8", 0.8f, 0, 1.0f, 0.0f, 1.0f);
    make("top-k 12", 1.0f, 12, 1.0f, 0.0f, 1.0f);
    make("top-p 0.7", 1.0f, 0, 0.7f, 0.0f, 1.0f);
    make("min-p 0.08", 1.2f, 0, 1.0f, 0.08f, 1.0f);
    make("repetition penalty 1.6", 1.0f, 0, 1.0f, 0.0f, 1.6f);
    make("all combined", 0.9f, 40, 0.85f, 0.02f, 1.3f);
    return s;
}

TEST_F(CudaSampling, ProcessedSamplesFollowTheCpuSamplerOnASmallVocabulary) {
    const int64_t vocab = 256, cols = 240;  // ids 240..255 masked (the vocabulary limit)
    const std::vector<float> logits = random_f32(size_t(vocab), seed, -4.0f, 4.0f);
    std::vector<int32_t> history = {3, 17, 17, 42, 99, 250, 7, 128, 200, 239};
    for (int32_t i = 0; i < 10; ++i) history.push_back(int32_t(argmax(logits)) ^ i);  // some likely ones
    const int n = 20000;
    for (const Setting& s : settings(seed)) {
        SCOPED_TRACE(s.name);
        const auto count = gpu_counts(*gpu, logits, cols, s.p, history, n);
        EXPECT_TRUE(follows(count, cpu_probabilities(logits, cols, s.p, history), n));
    }
}

TEST_F(CudaSampling, ProcessedSamplesFollowTheCpuSamplerOnARealSizeVocabulary) {
    // DeepSeek V3's 163,840 ids: a long tail far below a few dozen likely tokens, so the radix
    // selects run every level over a real row and the tail still carries mass.
    const int64_t vocab = 163840, cols = 163000;
    std::vector<float> logits = random_f32(size_t(vocab), seed, -14.0f, -6.0f);
    const auto top = random_f32(48, seed + 1, 0.0f, 4.0f);
    for (size_t j = 0; j < top.size(); ++j) logits[(j * 3331 + 17) % size_t(cols)] = top[j];
    logits[size_t(cols) + 5] = 50.0f;  // past the limit: never drawn
    const std::vector<int32_t> history = {17, 3348, 6679, 100000, 162999};
    const int n = 6000;
    for (const Setting& s : settings(seed)) {
        SCOPED_TRACE(s.name);
        const auto count = gpu_counts(*gpu, logits, cols, s.p, history, n);
        EXPECT_TRUE(follows(count, cpu_probabilities(logits, cols, s.p, history), n));
    }
}

TEST_F(CudaSampling, TopKOfOneAndGreedyWithAPenaltyAreThePenalisedArgmax) {
    const int64_t vocab = 163840, cols = 150000;
    std::vector<float> logits = random_f32(size_t(vocab), seed, -10.0f, 10.0f);
    logits[160000] = 100.0f;  // the raw argmax, past the limit
    const int32_t best = argmax(std::span<const float>(logits).first(size_t(cols)));
    const std::vector<int32_t> history = {best, 5, 77};  // the best is penalised: another may win
    for (const float t : {1.0f, 0.0f}) {
        SamplingParams p;
        p.temperature = t;  // 0: greedy
        p.top_k = t > 0 ? 1 : 0;
        p.repetition_penalty = 3.0f;
        p.seed = seed;
        SCOPED_TRACE(t > 0 ? "top-k 1" : "greedy");
        const auto expected = cpu_probabilities(logits, cols, p, history);
        const int32_t want = argmax(expected);
        ASSERT_EQ(expected[size_t(want)], 1.0f);
        const auto count = gpu_counts(*gpu, logits, cols, p, history, 50);
        EXPECT_EQ(count[size_t(want)], 50);
    }
}

TEST_F(CudaSampling, MaskedColumnsNanAndMinusInfinityAreNeverDrawn) {
    const int64_t vocab = 5000, cols = 4000;
    std::vector<float> logits = random_f32(size_t(vocab), seed, -1.0f, 1.0f);
    for (int64_t i = cols; i < vocab; ++i) logits[size_t(i)] = 30.0f;
    for (size_t i = 0; i < 300; ++i) logits[i * 13] = NAN;
    for (size_t i = 0; i < 300; ++i) logits[i * 13 + 5] = -kInf;
    SamplingParams p;
    p.temperature = 5.0f;  // flat: everything else is drawn often
    p.seed = seed;
    const auto count = gpu_counts(*gpu, logits, cols, p, {}, 3000);
    for (int64_t i = cols; i < vocab; ++i) ASSERT_EQ(count[size_t(i)], 0) << "column " << i << " is past the limit";
    for (size_t i = 0; i < 300; ++i) {
        EXPECT_EQ(count[i * 13], 0) << "NaN at " << i * 13;
        EXPECT_EQ(count[i * 13 + 5], 0) << "-inf at " << i * 13 + 5;
    }
    // A row with nothing to draw gives -1 (the model turns it into model.no_finite_logit).
    auto sampler = gpu->make_token_sampler(vocab);
    sampler->configure(p, 0);
    const std::vector<float> none(size_t(vocab), -kInf);
    EXPECT_EQ(gpu->download_i32(sampler->sample(gpu->upload(none, 1, vocab), cols)).at(0), -1);
}

TEST_F(CudaSampling, TiesAtTheKthValueAreKeptAndTopPTiesKeepTheLowestIds) {
    const int64_t vocab = 163840;
    {
        SCOPED_TRACE("top-k 2 with three ties at the 2nd value");
        std::vector<float> logits(size_t(vocab), -20.0f);
        logits[9] = 2.0f;
        for (size_t i : {4000u, 70u, 120000u}) logits[i] = 1.0f;
        SamplingParams p;
        p.top_k = 2;
        p.seed = seed;
        const auto count = gpu_counts(*gpu, logits, vocab, p, {}, 4000);
        EXPECT_TRUE(follows(count, cpu_probabilities(logits, vocab, p, {}), 4000));
        for (size_t i : {4000u, 70u, 120000u}) EXPECT_GT(count[i], 0) << i;
    }
    {
        // Four equal tokens in different 1024-column chunks: top-p 0.6 reaches 0.75 with three,
        // which are the three lowest ids (the host's stable order), never the fourth.
        SCOPED_TRACE("top-p 0.6 over four ties");
        std::vector<float> logits(size_t(vocab), -kInf);
        for (size_t i : {150000u, 100u, 70000u, 5000u}) logits[i] = 0.5f;
        SamplingParams p;
        p.top_p = 0.6f;
        p.seed = seed;
        const auto expected = cpu_probabilities(logits, vocab, p, {});
        ASSERT_EQ(expected[150000], 0.0f);
        const auto count = gpu_counts(*gpu, logits, vocab, p, {}, 3000);
        EXPECT_TRUE(follows(count, expected, 3000));
        EXPECT_EQ(count[150000], 0);
    }
}

TEST_F(CudaSampling, TheSameSeedAndDrawIndexGiveTheSameTokens) {
    const int64_t vocab = 151936;
    const std::vector<float> logits = random_f32(size_t(vocab), seed, -3.0f, 3.0f);
    const Tensor l = gpu->upload(logits, 1, vocab);
    SamplingParams p;
    p.temperature = 1.3f;
    p.top_p = 0.95f;
    p.seed = seed;
    auto run = [&](const SamplingParams& params, uint64_t first_draw, int n) {
        auto sampler = gpu->make_token_sampler(vocab);
        sampler->configure(params, first_draw);
        std::vector<int32_t> ids;
        for (int i = 0; i < n; ++i) ids.push_back(gpu->download_i32(sampler->sample(l, 0)).at(0));
        return ids;
    };
    const auto a = run(p, 0, 40);
    EXPECT_EQ(run(p, 0, 40), a);
    // Without a penalty a draw depends on (seed, draw index, logits) only: starting at index 10
    // continues the same stream.
    const auto later = run(p, 10, 30);
    EXPECT_EQ(later, std::vector<int32_t>(a.begin() + 10, a.end()));
    SamplingParams q = p;
    q.seed = seed + 1;
    EXPECT_NE(run(q, 0, 40), a);
    // With a penalty each draw joins the history on the device, and the stream still repeats.
    p.repetition_penalty = 1.5f;
    EXPECT_EQ(run(p, 0, 40), run(p, 0, 40));
}

// ---- the model path ----------------------------------------------------------------------------

// Model::forward_sample on the HF fixtures: the recorded step's draw against the logits step at
// the same position (forward(), its own recording): top-k 1 is their argmax, greedy with a
// penalty is the host Sampler's choice, and a sampled id is one the CPU Sampler gives a
// probability; each is reproducible per (seed, draw index), and the Generator takes this path.
TEST(CudaSampledStep, ForwardSampleDrawsFromTheStepsLogits) {
    MOE_SKIP_WITHOUT_CUDA();
    for (const std::string name : {"deepseek-v3-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const auto ck = Checkpoint::open(data_path("models/" + name));
        CudaBackend be(CudaBackendOptions{0, true, true});
        auto m = load_model(*ck, be, ModelOptions{128});
        ASSERT_TRUE(m->samples_on_backend());
        const int64_t vocab = m->config().vocab_size, limit = vocab - 7;
        std::vector<int32_t> history = {1, 17, 42, 5, 99, 3, 64};
        Logits l = m->forward(history, 0, LogitRows::Last);
        int32_t token = argmax(l.row(0));
        history.push_back(token);
        int64_t pos = int64_t(history.size()) - 1;
        for (int step = 0; step < 6; ++step) {  // the first records the sampled step, the rest replay it
            SCOPED_TRACE("step " + std::to_string(step));
            l = m->forward(std::vector<int32_t>{token}, pos, LogitRows::Last);
            std::vector<float> row(l.row(0).begin(), l.row(0).end());
            SamplingParams top1;
            top1.top_k = 1;
            EXPECT_EQ(m->forward_sample(token, pos, SampleRequest{top1, history, uint64_t(step)}, limit),
                      argmax(cpu_probabilities(row, limit, top1, history)));
            SamplingParams penalised;
            penalised.temperature = 0.0f;
            penalised.repetition_penalty = 1.8f;
            EXPECT_EQ(m->forward_sample(token, pos, SampleRequest{penalised, history, uint64_t(step)}, limit),
                      argmax(cpu_probabilities(row, limit, penalised, history)));
            SamplingParams sampled;
            sampled.temperature = 0.9f;
            sampled.top_p = 0.9f;
            sampled.repetition_penalty = 1.2f;
            sampled.seed = 1234;
            const SampleRequest request{sampled, history, uint64_t(step)};
            const int32_t drawn = m->forward_sample(token, pos, request, limit);
            EXPECT_EQ(m->forward_sample(token, pos, request, limit), drawn);  // same seed and index
            EXPECT_GT(cpu_probabilities(row, limit, sampled, history).at(size_t(drawn)), 0.0f);
            EXPECT_EQ(m->cached_tokens(), pos + 1);
            token = drawn;
            history.push_back(token);
            ++pos;
        }
        EXPECT_EQ(be.damaged_guards(), 0);

        // The Generator's sampled steps go through forward_sample: the same seed, the same tokens,
        // and top-k 1 is greedy decoding.
        Generator gen(*m);
        GenerationOptions o;
        o.max_new_tokens = 12;
        o.ignore_eos = true;
        o.sampling.temperature = 1.0f;
        o.sampling.top_k = 1;
        const std::vector<int32_t> prompt = {1, 17, 42, 5};
        const auto top1 = gen.generate(prompt, o).tokens;
        GenerationOptions g = o;
        g.sampling.greedy = true;
        EXPECT_EQ(gen.generate(prompt, g).tokens, top1);
        o.sampling.top_k = 0;
        o.sampling.top_p = 0.95f;
        o.sampling.seed = 77;
        const auto a = gen.generate(prompt, o).tokens;
        gen.reset();
        EXPECT_EQ(gen.generate(prompt, o).tokens, a);
    }
}

}  // namespace
}  // namespace moe::test
