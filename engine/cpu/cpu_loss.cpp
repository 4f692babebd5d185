// CPU: the training losses that are ops (kernels/loss.cu, tests/train/op_grad_test.cpp):
// cross-entropy of a block of rows (the sequence-wise balance loss lives with the router,
// cpu_router.cpp, since it reads the router's scores and selection).
//   loss_t = logsumexp(l_t) − l_t[target_t];   d l_t = scale · (softmax(l_t) − onehot(target_t))
// Rows with target −1 carry no loss and a zero gradient.
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

CrossEntropyResult CpuBackend::cross_entropy(const Tensor& logits, const Tensor& targets, float scale) {
    const int64_t T = logits.rows(), V = logits.cols();
    require_shape(targets, T, 1, "cross_entropy targets");
    const int32_t* tg = i32(targets);
    for (int64_t t = 0; t < T; ++t)
        if (tg[t] < -1 || tg[t] >= V)
            throw_invalid_argument("cross_entropy: target " + std::to_string(tg[t]) + " outside [0, " +
                                   std::to_string(V) + ")");
    CrossEntropyResult r{0.0, 0, make_tensor(T, V)};
    const float* pl = f32(logits);
    float* pd = f32(r.d_logits);
    // Per-row losses summed in row order afterwards: the same bits whatever the thread count
    // (exact resume compares loss curves bit for bit).
    std::vector<double> row_loss(static_cast<size_t>(T), 0.0);
#pragma omp parallel for if (T * V >= kMinParallelWork)
    for (int64_t t = 0; t < T; ++t) {
        if (tg[t] < 0) continue;
        const float* l = pl + t * V;
        float m = l[0];
        for (int64_t v = 1; v < V; ++v) m = std::max(m, l[v]);
        float sum = 0.0f;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(l[v] - m);
        const float lse = m + std::log(sum);
        row_loss[size_t(t)] = double(lse) - double(l[tg[t]]);
        float* d = pd + t * V;
        for (int64_t v = 0; v < V; ++v) d[v] = scale * std::exp(l[v] - lse);
        d[tg[t]] -= scale;
    }
    for (int64_t t = 0; t < T; ++t) {
        r.loss_sum += row_loss[size_t(t)];
        r.n_valid += tg[t] >= 0 ? 1 : 0;
    }
    return r;
}

}  // namespace moe
