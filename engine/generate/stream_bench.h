// `moe-engine bench --streams 1,4,16`: continuous batching measured. For each stream count N, N
// greedy generations of the same length (EOS ignored) run at once, each on its own thread and its
// own sequence of one model, their decode steps batched (generate/decode_batcher.h). Every
// stream's prompt is prefilled first; the clock starts when all have their first token, so the
// figures are decode only: aggregate tokens/s over all streams, each stream's own tokens/s (what a
// user of one stream sees), the speed-up over one stream, the mean batch the batcher formed, and
// whether every stream produced exactly the tokens its prompt gives alone (N = 1). One untimed
// warm-up round goes first. Backend-agnostic: the CPU reference runs it too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "generate/speculative_bench.h"
#include "generate/vocabulary.h"

namespace moe {

class Model;

struct StreamBenchOptions {
    std::vector<int64_t> streams{1, 4, 16};  // stream counts, each measured in turn
    int64_t decode_tokens = 64;             // new tokens per stream
    VocabularyMask vocabulary;
    std::function<void(const std::string&)> on_line;  // each table line as it is measured
};

// Stream i decodes prompts[i % prompts.size()]. The model must support sequences. The report:
// {"decode_tokens", "rows": [{"streams", "aggregate_tokens_per_second", "per_stream_tokens_per_second"
//  (mean), "min_stream_tokens_per_second", "speedup", "mean_batch", "max_batch", "greedy_exact"}]}
Json run_stream_bench(Model& model, const std::vector<BenchPrompt>& prompts, const StreamBenchOptions& options);

}  // namespace moe
