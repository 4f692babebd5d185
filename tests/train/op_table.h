// The op table: every differentiable training op once, as a case that any backend can run.
// tests/train/op_grad_test.cpp checks each case's backward against central finite differences on
// the CPU; tests/cuda/train_ops_test.cpp runs each case on CUDA and compares outputs and gradients
// with the CPU's. Adding an op = adding one case here; both checks pick it up.
//
// A case makes host inputs from a seed, runs the op forward on a backend (outputs flattened to
// f32), and runs its backward for given output gradients (one gradient per differentiable input,
// in input order). Weights are bf16-exact values so the CUDA backend multiplies by the same numbers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/backend.h"

namespace moe::test {

struct OpTensor {
    std::string name;
    int64_t rows = 0, cols = 0;
    std::vector<float> f32;      // float inputs
    std::vector<int32_t> i32;    // integer inputs (token ids, positions, expert ids, targets)
    bool differentiable = false;
    bool is_int() const { return !i32.empty(); }
};

struct OpInstance {
    std::vector<OpTensor> inputs;
    const OpTensor& at(const std::string& name) const;
};

using OpOutputs = std::vector<std::vector<float>>;

struct OpCase {
    std::string name;
    std::function<OpInstance(uint64_t seed)> make;
    std::function<OpOutputs(Backend&, const OpInstance&)> forward;
    // d_outputs has one vector per forward output; returns one gradient per differentiable input.
    std::function<OpOutputs(Backend&, const OpInstance&, const OpOutputs& d_outputs)> backward;
    // Forward outputs that are discrete (expert ids): a finite-difference sample whose ±step
    // changes one of them is skipped (the gradient is defined away from selection changes).
    std::vector<size_t> discrete_outputs;
    double fd_step = 1e-3;        // central difference step (relative to max(1, |x|))
    double fd_tolerance = 1e-2;   // max |g − g_fd| <= tol · max |g_fd| + 1e-5 over the sampled elements
    double cuda_nmse = 3e-5;      // NMSE of CUDA vs CPU outputs and gradients (bf16 tensor-core paths)
};

const std::vector<OpCase>& op_table();

// Helpers the cases (and tests) share: make a backend tensor / weight from a host input.
Tensor to_tensor(Backend& b, const OpTensor& t);
Weight to_weight(Backend& b, const OpTensor& t);

}  // namespace moe::test
