#include "train/train_graph.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "io/checkpoint.h"
#include "train/graph_common.h"
#include "train/trainable_source.h"

namespace moe::train {

MicroBatch batch_of_sequences(const std::vector<std::vector<int32_t>>& sequences) {
    if (sequences.empty()) throw Error("train.empty_batch", "", "the batch has no sequences");
    const int64_t T = int64_t(sequences[0].size());
    if (T < 2) throw Error("train.short_sequence", "", "sequences need at least 2 tokens (one prediction)");
    MicroBatch b;
    b.n_seq = int64_t(sequences.size());
    b.seq_len = T;
    for (size_t s = 0; s < sequences.size(); ++s) {
        if (int64_t(sequences[s].size()) != T)
            throw Error("train.ragged_batch", "",
                        "sequence " + std::to_string(s) + " has " + std::to_string(sequences[s].size()) +
                            " tokens, sequence 0 has " + std::to_string(T) + " (every sequence must be as long)");
        for (int64_t i = 0; i < T; ++i) {
            b.tokens.push_back(sequences[s][size_t(i)]);
            b.targets.push_back(i + 1 < T ? sequences[s][size_t(i + 1)] : -1);
            b.positions.push_back(int32_t(i));
            b.seg_start.push_back(0);
        }
    }
    return b;
}

int64_t ce_tokens(const MicroBatch& b) {
    return int64_t(std::count_if(b.targets.begin(), b.targets.end(), [](int32_t t) { return t >= 0; }));
}

int64_t mtp_tokens(const MicroBatch& b, int64_t k) {
    // Row i of module k predicts token i+k+2: valid when rows i .. i+k+1 are one sample and the
    // token i+k+2 is a target (targets[i+k+1] >= 0).
    int64_t n = 0;
    for (int64_t s = 0; s < b.n_seq; ++s)
        for (int64_t i = 0; i + k + 2 < b.seq_len; ++i) {
            const int64_t r = s * b.seq_len + i, last = r + k + 1;
            if (b.targets[size_t(last)] >= 0 && b.seg_start[size_t(last)] == b.seg_start[size_t(r)]) ++n;
        }
    return n;
}

BatchRows upload_rows(Backend& be, const MicroBatch& b) {
    const int64_t N = b.rows();
    if (int64_t(b.tokens.size()) != N || int64_t(b.targets.size()) != N || int64_t(b.positions.size()) != N ||
        int64_t(b.seg_start.size()) != N)
        throw_invalid_argument("micro-batch arrays do not match n_seq * seq_len");
    std::vector<int32_t> abs_start(static_cast<size_t>(N));
    for (int64_t r = 0; r < N; ++r) abs_start[size_t(r)] = int32_t((r / b.seq_len) * b.seq_len) + b.seg_start[size_t(r)];
    BatchRows rows;
    rows.n_seq = b.n_seq;
    rows.seq_len = b.seq_len;
    rows.tokens = b.tokens;
    rows.positions = be.upload_i32(b.positions, N, 1);
    rows.seg_start = be.upload_i32(abs_start, N, 1);
    return rows;
}

namespace {
int64_t chunk_for(const Weight& head, int64_t chunk_rows) {
    if (chunk_rows > 0) return chunk_rows;
    return std::max<int64_t>(1, (int64_t(1) << 26) / std::max<int64_t>(1, head.rows()));  // ~256 MB of f32 logits
}
}  // namespace

Tensor head_ce(const LayerContext& c, const Tensor& x, const Weight& head, std::span<const int32_t> targets,
               float scale, int64_t chunk_rows, HeadLoss& loss) {
    Backend& be = c.be;
    const int64_t N = x.rows(), step = chunk_for(head, chunk_rows);
    Tensor dx = be.alloc(N, x.cols());
    for (int64_t r0 = 0; r0 < N; r0 += step) {
        const int64_t n = std::min(step, N - r0);
        const std::span<const int32_t> t = targets.subspan(size_t(r0), size_t(n));
        if (std::none_of(t.begin(), t.end(), [](int32_t v) { return v >= 0; })) continue;
        const Tensor xs = be.slice_rows(x, r0, n);
        const CrossEntropyResult ce = be.cross_entropy(linear_fwd(c, xs, head), be.upload_i32(t, n, 1), scale);
        loss.sum += ce.loss_sum;
        loss.tokens += ce.n_valid;
        std::vector<int32_t> rows(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = int32_t(r0 + i);
        be.scatter_add_rows(linear_bwd(c, xs, head, nullptr, ce.d_logits), be.upload_i32(rows, n, 1), dx);
    }
    return dx;
}

std::vector<float> head_nll(const LayerContext& c, const Tensor& x, const Weight& head,
                            std::span<const int32_t> targets, int64_t chunk_rows) {
    Backend& be = c.be;
    const int64_t N = x.rows(), step = chunk_for(head, chunk_rows);
    std::vector<float> nll(size_t(N), 0.0f);
    for (int64_t r0 = 0; r0 < N; r0 += step) {
        const int64_t n = std::min(step, N - r0);
        const std::vector<float> logits = be.download(linear_fwd(c, be.slice_rows(x, r0, n), head));
        const int64_t V = head.rows();
        for (int64_t i = 0; i < n; ++i) {
            const int32_t t = targets[size_t(r0 + i)];
            if (t < 0) continue;
            const float* l = logits.data() + i * V;
            const float m = *std::max_element(l, l + V);
            double s = 0.0;
            for (int64_t v = 0; v < V; ++v) s += std::exp(double(l[v] - m));
            nll[size_t(r0 + i)] = float(double(m) + std::log(s) - double(l[t]));
        }
    }
    return nll;
}

}  // namespace moe::train

// ---- factory --------------------------------------------------------------------------------------

namespace moe::train {

std::unique_ptr<TrainGraph> make_deepseek_train_graph(TrainableSpec spec, ParameterStore& params,
                                                      const GraphOptions& options);
std::unique_ptr<TrainGraph> make_qwen2_train_graph(TrainableSpec spec, ParameterStore& params,
                                                   const GraphOptions& options);

std::unique_ptr<TrainGraph> make_train_graph(TrainableSpec spec, ParameterStore& params, const GraphOptions& options) {
    const Architecture arch = spec.checkpoint ? spec.checkpoint->config().arch : spec.config.arch;
    if (arch == Architecture::Qwen2) return make_qwen2_train_graph(std::move(spec), params, options);
    return make_deepseek_train_graph(std::move(spec), params, options);
}

}  // namespace moe::train
