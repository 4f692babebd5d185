#include "generate/stream_bench.h"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "core/error.h"
#include "generate/decode_batcher.h"
#include "generate/generator.h"
#include "generate/sequence_model.h"
#include "model/model.h"

namespace moe {
namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
    GenerationResult result;
    Clock::time_point last_token{};
    std::exception_ptr error;
};

struct Round {
    std::vector<Stream> streams;
    Clock::time_point decode_start{};
    DecodeBatcherStats batches;
};

// N streams at once; every stream waits at the barrier after its first decoded token, so the decode
// phase starts together and its clock excludes the (exclusive, serialised) prefills and each
// sequence's first step (on CUDA a stream alone records its graph there).
constexpr int64_t kUntimedTokens = 2;  // the prefill's token and the first decode step's
Round run_round(Model& model, const std::vector<BenchPrompt>& prompts, int64_t n, const StreamBenchOptions& o) {
    DecodeBatcher batcher(model);
    Round round;
    round.streams.resize(size_t(n));
    std::barrier start(n, [&]() noexcept { round.decode_start = Clock::now(); });
    std::vector<std::jthread> threads;
    for (int64_t i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            Stream& s = round.streams[size_t(i)];
            int64_t seen = 0;
            try {
                SequenceModel seq(batcher);
                Generator gen(seq);
                GenerationOptions go;
                go.max_new_tokens = o.decode_tokens;
                go.ignore_eos = true;
                go.vocabulary = o.vocabulary;
                go.on_token = [&](int32_t) {
                    if (++seen == kUntimedTokens) start.arrive_and_wait();
                    s.last_token = Clock::now();
                    return true;
                };
                const DecodeBatcher::Member member(batcher);
                s.result = gen.generate(prompts[size_t(i) % prompts.size()].tokens, go);
            } catch (...) {
                s.error = std::current_exception();
                if (seen < kUntimedTokens) start.arrive_and_drop();
            }
        });
    }
    threads.clear();  // joins
    for (const Stream& s : round.streams)
        if (s.error) std::rethrow_exception(s.error);
    round.batches = batcher.stats();
    return round;
}

std::string line(int64_t n, double aggregate, double mean_stream, double min_stream, double speedup, double mean_batch,
                 double step_ms, bool exact) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "%7lld %12.2f %12.2f %12.2f %8.2fx %10.2f %9.3f  %s", (long long)n, aggregate,
                  mean_stream, min_stream, speedup, mean_batch, step_ms, exact ? "exact" : "DIFFERS");
    return buf;
}

}  // namespace

Json run_stream_bench(Model& model, const std::vector<BenchPrompt>& prompts, const StreamBenchOptions& o) {
    if (prompts.empty()) throw_invalid_argument("bench --streams needs at least one prompt");
    if (o.decode_tokens < kUntimedTokens + 1)
        throw_invalid_argument("bench --streams needs at least three decode tokens (two are untimed)");
    if (o.streams.empty()) throw_invalid_argument("bench --streams needs at least one stream count");
    // Each prompt alone: the tokens every stream must reproduce, and the warm-up.
    std::map<size_t, std::vector<int32_t>> alone;
    for (size_t p = 0; p < prompts.size(); ++p)
        alone[p] = run_round(model, {prompts[p]}, 1, o).streams[0].result.tokens;

    // One stream first (the speed-up's base), then the others in increasing order.
    std::vector<int64_t> counts = o.streams;
    counts.push_back(1);
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    if (counts.front() < 1) throw_invalid_argument("bench --streams: stream counts must be positive");

    if (o.on_line) o.on_line(" streams  aggregate/s   mean tok/s    min tok/s  speed-up  mean batch   step ms  greedy");
    Json rows = Json::array();
    double single = 0;
    for (int64_t n : counts) {
        const Round round = run_round(model, prompts, n, o);
        int64_t decoded = 0;
        double sum_rate = 0, min_rate = 0;
        bool exact = true;
        Clock::time_point end = round.decode_start;
        for (size_t i = 0; i < round.streams.size(); ++i) {
            const Stream& s = round.streams[i];
            const int64_t tokens = int64_t(s.result.tokens.size()) - kUntimedTokens;
            const double seconds = std::chrono::duration<double>(s.last_token - round.decode_start).count();
            const double rate = seconds > 0 ? double(tokens) / seconds : 0.0;
            decoded += tokens;
            sum_rate += rate;
            min_rate = i == 0 ? rate : std::min(min_rate, rate);
            end = std::max(end, s.last_token);
            exact = exact && s.result.tokens == alone[i % prompts.size()];
        }
        const double wall = std::chrono::duration<double>(end - round.decode_start).count();
        const double aggregate = wall > 0 ? double(decoded) / wall : 0.0;
        if (n == 1) single = aggregate;
        const double speedup = single > 0 ? aggregate / single : 0.0;
        const double steps = double(std::max<uint64_t>(round.batches.steps, 1));
        const double mean_batch = double(round.batches.rows) / steps;
        const double step_ms = 1e3 * round.batches.step_seconds / steps;  // decode steps only
        if (o.on_line) o.on_line(line(n, aggregate, sum_rate / double(n), min_rate, speedup, mean_batch, step_ms, exact));
        rows.push_back({{"streams", n},
                        {"aggregate_tokens_per_second", aggregate},
                        {"per_stream_tokens_per_second", sum_rate / double(n)},
                        {"min_stream_tokens_per_second", min_rate},
                        {"speedup", speedup},
                        {"mean_batch", mean_batch},
                        {"max_batch", round.batches.max_rows},
                        {"mean_step_ms", step_ms},
                        {"greedy_exact", exact}});
    }
    return Json{{"decode_tokens", o.decode_tokens}, {"rows", rows}};
}

}  // namespace moe
