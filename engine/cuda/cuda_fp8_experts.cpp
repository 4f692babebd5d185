// CUDA: routed experts kept as fp8 e4m3 with their block scales (fp8_experts.h).
//
// A checkpoint's fp8 expert matrices are copied to the device as stored, byte for byte, beside
// their f32 scale grids: no host expansion, half the device memory and half the decode bytes of
// bf16. Decode dequantises in registers (kernels/moe_fp8.cu); prefill GEMMs get one expert at a time
// in bf16 (cuda_moe.cpp); the training GEMMs read a bf16 copy made once. Every other weight of the
// checkpoint (attention, router, shared experts, dense layers, lm_head) is converted to bf16 at load.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/fp8_experts.h"
#include "elementwise.h"
#include "io/checkpoint.h"

namespace moe {

using namespace cuda;

namespace cuda {

kernels::Fp8Stack gate_up_stack(const CudaExpertSetStorage& es) {
    return {es.gate_up.as<uint8_t>(), es.gate_up_scale.as<float>(), 2 * es.n_experts, es.inter, es.hidden,
            es.block_rows, es.block_cols};
}

kernels::Fp8Stack down_stack(const CudaExpertSetStorage& es) {
    return {es.down.as<uint8_t>(), es.down_scale.as<float>(), es.n_experts, es.hidden, es.inter, es.block_rows,
            es.block_cols};
}

namespace {

// The bf16 copy of an fp8 set, made on first use.
void make_bf16_copy(const CudaExpertSetStorage& es, cudaStream_t stream) {
    if (es.bf16_gate_up.bytes()) return;
    const size_t mat = size_t(es.inter * es.hidden) * 2;
    spdlog::warn("training through fp8 routed experts: keeping a bf16 copy of a layer's {} experts ({:.1f} MiB)",
                 es.n_experts, double(3 * mat * size_t(es.n_experts)) / double(1 << 20));
    es.bf16_gate_up = DeviceBuffer(2 * mat * size_t(es.n_experts), "the bf16 copy of fp8 expert gate/up weights");
    es.bf16_down = DeviceBuffer(mat * size_t(es.n_experts), "the bf16 copy of fp8 expert down weights");
    MOE_CUDA_CHECK(kernels::fp8_to_bf16(gate_up_stack(es), 0, 2 * es.n_experts, es.bf16_gate_up.as<uint16_t>(), stream));
    MOE_CUDA_CHECK(kernels::fp8_to_bf16(down_stack(es), 0, es.n_experts, es.bf16_down.as<uint16_t>(), stream));
    if (es.counter) es.counter->n += int64_t(es.bf16_gate_up.bytes() + es.bf16_down.bytes());
}

}  // namespace

const uint16_t* bf16_gate_up(const CudaExpertSetStorage& es, cudaStream_t stream) {
    if (!es.fp8()) return es.gate_up.as<uint16_t>();
    make_bf16_copy(es, stream);
    return es.bf16_gate_up.as<uint16_t>();
}

const uint16_t* bf16_down(const CudaExpertSetStorage& es, cudaStream_t stream) {
    if (!es.fp8()) return es.down.as<uint16_t>();
    make_bf16_copy(es, stream);
    return es.bf16_down.as<uint16_t>();
}

}  // namespace cuda

namespace {

bool fp8_experts_disabled() {
    const char* v = std::getenv("MOE_FP8_EXPERTS");
    return v && v[0] == '0';
}

// Whether the matrices (gate, up, down per expert) can stay fp8: all e4m3 with scales of one block
// size, and shapes the 16-byte-chunk kernels take.
bool keep_fp8(const std::vector<WeightMatrix>& m) {
    if (m.empty() || fp8_experts_disabled()) return false;
    const int64_t br = m[0].block_rows(), bc = m[0].block_cols();
    for (const WeightMatrix& w : m)
        if (w.dtype() != DType::F8_E4M3 || !w.scale_inv() || w.block_rows() != br || w.block_cols() != bc) return false;
    const int64_t inter = m[0].rows(), hidden = m[0].cols();
    return kernels::fp8_shape_ok(hidden, br, bc) && kernels::fp8_shape_ok(inter, br, bc);
}

int64_t grid(int64_t n, int64_t block) { return (n + block - 1) / block; }

// Copies matrix `w` (bytes as stored) and its scale grid to dst / dst_scale.
void upload_fp8(const WeightMatrix& w, unsigned char* dst, float* dst_scale, cudaStream_t stream) {
    const size_t bytes = size_t(w.rows() * w.cols());
    const size_t scales = size_t(grid(w.rows(), w.block_rows()) * grid(w.cols(), w.block_cols()));
    if (w.weight()->nbytes != bytes || w.scale_inv()->nbytes != scales * 4)
        throw Error("checkpoint.shape_mismatch", w.weight()->file,
                    w.weight()->name + ": its fp8 bytes or scale grid do not match [" + std::to_string(w.rows()) + ", " +
                        std::to_string(w.cols()) + "]");
    MOE_CUDA_CHECK(cudaMemcpyAsync(dst, w.weight()->data, bytes, cudaMemcpyHostToDevice, stream));
    MOE_CUDA_CHECK(cudaMemcpyAsync(dst_scale, w.scale_inv()->data, scales * 4, cudaMemcpyHostToDevice, stream));
}

}  // namespace

namespace cuda {

bool dequantise_fp8_on_device(const WeightMatrix& w, uint16_t* dst, cudaStream_t stream) {
    if (w.dtype() != DType::F8_E4M3 || !w.scale_inv() || !kernels::fp8_shape_ok(w.cols(), w.block_rows(), w.block_cols()))
        return false;
    const int64_t grid_rows = grid(w.rows(), w.block_rows()), grid_cols = grid(w.cols(), w.block_cols());
    DeviceBuffer bytes(std::max<size_t>(size_t(w.rows() * w.cols()), 1), "an fp8 weight's bytes (load staging)");
    DeviceBuffer scales(std::max<size_t>(size_t(grid_rows * grid_cols) * 4, 4), "an fp8 weight's scales (load staging)");
    upload_fp8(w, bytes.as<unsigned char>(), scales.as<float>(), stream);
    const kernels::Fp8Stack stack{bytes.as<uint8_t>(), scales.as<float>(), 1, w.rows(), w.cols(), w.block_rows(),
                                  w.block_cols()};
    MOE_CUDA_CHECK(kernels::fp8_to_bf16(stack, 0, 1, dst, stream));
    MOE_CUDA_CHECK(cudaStreamSynchronize(stream));  // the staging buffers go when this returns
    return true;
}

}  // namespace cuda

ExpertSet CudaBackend::load_expert_set(const std::vector<WeightMatrix>& m) {
    if (m.size() % 3 != 0) throw_invalid_argument("load_expert_set: 3 matrices per expert");
    if (!keep_fp8(m)) return Backend::load_expert_set(m);
    const int64_t E = int64_t(m.size() / 3), inter = m[0].rows(), hidden = m[0].cols();
    auto s = std::make_shared<CudaExpertSetStorage>();
    s->n_experts = E;
    s->inter = inter;
    s->hidden = hidden;
    s->block_rows = m[0].block_rows();
    s->block_cols = m[0].block_cols();
    for (int64_t e = 0; e < E; ++e) {
        const WeightMatrix &g = m[size_t(3 * e)], &u = m[size_t(3 * e + 1)], &d = m[size_t(3 * e + 2)];
        if (g.rows() != inter || g.cols() != hidden || u.rows() != inter || u.cols() != hidden || d.rows() != hidden ||
            d.cols() != inter)
            throw_invalid_argument("load_expert_set: experts must all have the same shapes");
    }
    const size_t mat = size_t(inter * hidden);
    const size_t gu_grid = size_t(grid(inter, s->block_rows) * grid(hidden, s->block_cols));
    const size_t dn_grid = size_t(grid(hidden, s->block_rows) * grid(inter, s->block_cols));
    s->gate_up = DeviceBuffer(2 * mat * size_t(E), "the stacked fp8 expert gate/up weights");
    s->down = DeviceBuffer(mat * size_t(E), "the stacked fp8 expert down weights");
    s->gate_up_scale = DeviceBuffer(2 * gu_grid * size_t(E) * 4, "the fp8 expert gate/up scales");
    s->down_scale = DeviceBuffer(dn_grid * size_t(E) * 4, "the fp8 expert down scales");
    cudaStream_t st = ctx_->stream();
    for (int64_t e = 0; e < E; ++e) {
        upload_fp8(m[size_t(3 * e)], s->gate_up.as<unsigned char>() + 2 * mat * size_t(e),
                   s->gate_up_scale.as<float>() + 2 * gu_grid * size_t(e), st);
        upload_fp8(m[size_t(3 * e + 1)], s->gate_up.as<unsigned char>() + (2 * size_t(e) + 1) * mat,
                   s->gate_up_scale.as<float>() + (2 * size_t(e) + 1) * gu_grid, st);
        upload_fp8(m[size_t(3 * e + 2)], s->down.as<unsigned char>() + mat * size_t(e),
                   s->down_scale.as<float>() + dn_grid * size_t(e), st);
    }
    s->counter = weight_bytes_;
    weight_bytes_->n += int64_t(s->device_bytes());
    return ExpertSet{std::move(s), E};
}

// Codes uniform in [-1, 1) under one scale per set and projection: the bf16 set's value range.
ExpertSet CudaBackend::random_fp8_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed,
                                             float scale, float down_scale) {
    auto s = std::make_shared<CudaExpertSetStorage>();
    s->n_experts = n_experts;
    s->hidden = hidden;
    s->inter = inter;
    s->block_rows = s->block_cols = 128;
    const int64_t mat = inter * hidden;
    const int64_t gu_scales = 2 * n_experts * grid(inter, 128) * grid(hidden, 128);
    const int64_t dn_scales = n_experts * grid(hidden, 128) * grid(inter, 128);
    s->gate_up = DeviceBuffer(size_t(2 * mat * n_experts), "synthetic fp8 expert gate/up weights");
    s->down = DeviceBuffer(size_t(mat * n_experts), "synthetic fp8 expert down weights");
    s->gate_up_scale = DeviceBuffer(size_t(gu_scales) * 4, "synthetic fp8 expert gate/up scales");
    s->down_scale = DeviceBuffer(size_t(dn_scales) * 4, "synthetic fp8 expert down scales");
    cudaStream_t st = ctx_->stream();
    MOE_CUDA_CHECK(kernels::fill_random_fp8(s->gate_up.as<uint8_t>(), 2 * mat * n_experts, seed, st));
    MOE_CUDA_CHECK(kernels::fill_random_fp8(s->down.as<uint8_t>(), mat * n_experts, seed + 1, st));
    MOE_CUDA_CHECK(kernels::fill_random_f32(s->gate_up_scale.as<float>(), gu_scales, seed, scale, 0.0f, st));
    MOE_CUDA_CHECK(kernels::fill_random_f32(s->down_scale.as<float>(), dn_scales, seed, down_scale, 0.0f, st));
    s->counter = weight_bytes_;
    weight_bytes_->n += int64_t(s->device_bytes());
    return ExpertSet{std::move(s), n_experts};
}

}  // namespace moe
