// Training losses on the GPU (CPU twin: engine/cpu/cpu_loss.cpp; the balance loss lives with the
// router, kernels/router.h). Cross-entropy of a block of rows, a block per row in f32:
//   loss_t = logsumexp(l_t) − l_t[target_t];   d l_t = scale · (softmax(l_t) − onehot(target_t))
// Rows with target −1 carry no loss and a zero gradient.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// logits, d_logits [T, V] f32; targets [T] i32. Per row: row_loss[t] (f64) and row_status[t]:
// 1 a target (loss in row_loss), 0 none (target −1), 2 a target outside [−1, V) (row_loss holds
// it, d_logits row zero; the host reports it).
cudaError_t cross_entropy_f32(const float* logits, const int32_t* targets, int64_t T, int64_t V, float scale,
                              float* d_logits, double* row_loss, int32_t* row_status, cudaStream_t stream);

}  // namespace moe::kernels
