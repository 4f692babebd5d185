// Which cuBLAS call runs a layer's routed-expert GEMMs fastest? One MoE layer of the moonlight
// shape (T = 2048 tokens, top-6 of 64 experts, hidden 2048, expert width 1408): the (token, expert)
// rows grouped by expert, counts even or skewed as a random model routes them, and each of the
// training step's expert GEMM kinds run as
//   loop     one cublasGemmEx per expert over its exact rows
//   padded   one cublasGemmBatchedEx, every expert padded to the busiest
//   grouped  one cublasGemmGroupedBatchedEx, a group per expert with its exact rows
//   tiles    our grouped kernel (kernels/grouped_gemm.cu, MOE_EXPERT_GEMM=tiles), exact rows, one launch
//   dense    one cublasGemmEx over all rows against ONE expert's weights (the ceiling: same FLOPs)
// in TFLOP/s of useful work (padding not counted). Prints one line per (distribution, GEMM, way).
// Decides the design of engine/cuda/expert_groups.cpp; not part of the product or the tests.
//   nvcc -O2 -std=c++17 -gencode arch=compute_90a,code=sm_90a -Ikernels tools/gpu/probes/grouped_gemm_probe.cu \
//        kernels/grouped_gemm.cu kernels/grouped_gemm_wgmma.cu kernels/grouped_gemm_wgmma_ws.cu -lcublas -o grouped_gemm_probe
// (tools/gpu/prepare_prebuilt.sh with PROBE=1 builds it into the carried package).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "grouped_gemm.h"

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { std::printf("CUDA %s at %d\n", cudaGetErrorString(e_), __LINE__); std::exit(1); } } while (0)

namespace {

const int64_t H = 2048, I = 1408, E = 64, T = 2048, K = 6, N = T * K, R = 16;  // R: LoRA rank

std::vector<int> counts(double skew) {  // skew 0: even; else count_e ∝ (e + 1)^-skew
    std::vector<double> w(E);
    for (int e = 0; e < E; ++e) w[e] = std::pow(double(e + 1), -skew);
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<int> c(E);
    int64_t given = 0;
    for (int e = 0; e < E; ++e) given += c[e] = std::max(1, int(std::min<double>(T, N * w[e] / sum)));
    for (int e = 0; given < N; e = (e + 1) % E)
        if (c[e] < T) ++c[e], ++given;
    return c;
}

struct Gemm {  // column-major cuBLAS terms; rows = the expert's row count stands in for -1
    const char* name;
    cublasOperation_t ta, tb;
    int64_t m, n, k;  // -1: the expert's rows
    int64_t lda, ldb, ldc;
    int64_t a_expert, b_expert, a_row, b_row, c_expert, c_row;  // element strides
    cudaDataType_t ct;
};

double time_ms(cudaStream_t s, const std::function<void()>& f) {
    for (int i = 0; i < 2; ++i) f();
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    CK(cudaEventRecord(a, s));
    const int reps = 10;
    for (int i = 0; i < reps; ++i) f();
    CK(cudaEventRecord(b, s));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    return ms / reps;
}

}  // namespace


int main() {
    cublasHandle_t h;
    cublasCreate(&h);
    cudaStream_t s;
    CK(cudaStreamCreate(&s));
    cublasSetStream(h, s);
    size_t ws = size_t(64) << 20;
    void* wsp;
    CK(cudaMalloc(&wsp, ws));
    cublasSetWorkspace(h, wsp, ws);
    // weights [E, 2I, H] and [E, H, I] bf16; rows up to E · T (padded); f32 outputs of the widest
    void *w_gu, *w_d, *rows_a, *rows_b, *out, *grad;
    CK(cudaMalloc(&w_gu, E * 2 * I * H * 2));
    CK(cudaMalloc(&w_d, E * H * I * 2));
    CK(cudaMalloc(&rows_a, E * T * 2 * I * 2));
    CK(cudaMalloc(&rows_b, E * T * 2 * I * 2));
    CK(cudaMalloc(&out, E * T * 2 * I * 4));
    CK(cudaMalloc(&grad, E * 2 * I * H * 4));
    CK(cudaMemset(w_gu, 0, E * 2 * I * H * 2));
    CK(cudaMemset(w_d, 0, E * H * I * 2));
    CK(cudaMemset(rows_a, 0, E * T * 2 * I * 2));
    CK(cudaMemset(rows_b, 0, E * T * 2 * I * 2));
    void** ptrs;
    CK(cudaMalloc(&ptrs, 3 * E * sizeof(void*)));
    // forward gate/up: gu [n, 2I] = x [n, H] · GUᵀ; dx: [n, H] = dgu [n, 2I] · GU; weight grad dGU [2I, H] += dguᵀ x
    const std::vector<Gemm> gemms = {
        {"fwd gate_up", CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, -1, H, H, H, 2 * I, 2 * I * H, 0, 0, H, 0, 2 * I, CUDA_R_32F},
        {"fwd gate_up bf16", CUBLAS_OP_T, CUBLAS_OP_N, 2 * I, -1, H, H, H, 2 * I, 2 * I * H, 0, 0, H, 0, 2 * I, CUDA_R_16BF},
        {"fwd down", CUBLAS_OP_T, CUBLAS_OP_N, H, -1, I, I, I, H, H * I, 0, 0, I, 0, H, CUDA_R_32F},
        {"bwd dx", CUBLAS_OP_N, CUBLAS_OP_N, H, -1, 2 * I, H, 2 * I, H, 2 * I * H, 0, 0, 2 * I, 0, H, CUDA_R_32F},
        {"bwd dW", CUBLAS_OP_N, CUBLAS_OP_T, H, 2 * I, -1, H, 2 * I, H, 0, 0, H, 2 * I, 2 * I * H, 0, CUDA_R_32F},
        // LoRA on gate: z [n, R] = x Aᵀ (bf16), gu += z Bᵀ; backward dA [R, H] += dzᵀ x
        {"lora z=xA", CUBLAS_OP_T, CUBLAS_OP_N, R, -1, H, H, H, R, R * H, 0, 0, H, 0, R, CUDA_R_16BF},
        {"lora gu+=zB", CUBLAS_OP_T, CUBLAS_OP_N, I, -1, R, R, R, 2 * I, I * R, 0, 0, R, 0, 2 * I, CUDA_R_32F},
        {"lora dA", CUBLAS_OP_N, CUBLAS_OP_T, H, R, -1, H, R, H, 0, 0, H, R, R * H, 0, CUDA_R_32F},
    };
    for (double skew : {0.0, 0.7, 1.2}) {
        const std::vector<int> c = counts(skew);
        const int maxc = *std::max_element(c.begin(), c.end());
        std::vector<int64_t> off(E);
        for (int e = 1; e < E; ++e) off[e] = off[e - 1] + c[e - 1];
        std::printf("== counts skew %.1f: max %d min %d (mean %lld)\n", skew, maxc, *std::min_element(c.begin(), c.end()),
                    (long long)(N / E));
        for (const Gemm& g : gemms) {
            const float alpha = 1.0f, beta = g.name[4] == 'd' && g.name[5] == 'W' ? 1.0f : 0.0f;
            const double flops = 2.0 * double(N) * double(g.m == -1 ? 1 : g.m) * double(g.n == -1 ? 1 : g.n) *
                                 double(g.k == -1 ? 1 : g.k);
            auto dim = [](int64_t d, int64_t r) { return int(d == -1 ? r : d); };
            auto A = [&](int e, int64_t row0) { return (char*)(g.a_expert ? w_gu : rows_a) + 2 * (e * g.a_expert + row0 * g.a_row); };
            auto B = [&](int e, int64_t row0) { return (char*)rows_b + 2 * (e * g.b_expert + row0 * g.b_row); };
            const int cb = g.ct == CUDA_R_32F ? 4 : 2;
            auto C = [&](int e, int64_t row0) { return (char*)(g.c_expert ? grad : out) + cb * (e * g.c_expert + row0 * g.c_row); };
            auto loop = [&] {
                for (int e = 0; e < E; ++e)
                    cublasGemmEx(h, g.ta, g.tb, dim(g.m, c[e]), dim(g.n, c[e]), dim(g.k, c[e]), &alpha, A(e, off[e]),
                                 CUDA_R_16BF, int(g.lda), B(e, off[e]), CUDA_R_16BF, int(g.ldb), &beta, C(e, off[e]), g.ct,
                                 int(g.ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            };
            std::vector<void*> host(3 * E);
            for (int e = 0; e < E; ++e) {
                host[e] = A(e, int64_t(e) * maxc);
                host[E + e] = B(e, int64_t(e) * maxc);
                host[2 * E + e] = C(e, int64_t(e) * maxc);
            }
            CK(cudaMemcpy(ptrs, host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice));
            auto padded = [&] {
                cublasGemmBatchedEx(h, g.ta, g.tb, dim(g.m, maxc), dim(g.n, maxc), dim(g.k, maxc), &alpha,
                                    (const void**)ptrs, CUDA_R_16BF, int(g.lda), (const void**)ptrs + E, CUDA_R_16BF,
                                    int(g.ldb), &beta, ptrs + 2 * E, g.ct, int(g.ldc), int(E), CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT);
            };
            const double t_loop = time_ms(s, loop);
            const double t_pad = g.k == -1 ? NAN : time_ms(s, padded);  // k padded with zero rows: same sums
            // grouped: pointer arrays (device) of the exact rows
            void** gptrs;
            CK(cudaMalloc(&gptrs, 3 * E * sizeof(void*)));
            for (int e = 0; e < E; ++e) {
                host[e] = A(e, off[e]);
                host[E + e] = B(e, off[e]);
                host[2 * E + e] = C(e, off[e]);
            }
            CK(cudaMemcpy(gptrs, host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice));
            std::vector<cublasOperation_t> ta(E, g.ta), tb(E, g.tb);
            std::vector<int> m(E), n(E), k(E), lda(E, int(g.lda)), ldb(E, int(g.ldb)), ldc(E, int(g.ldc)), one(E, 1);
            for (int e = 0; e < E; ++e) m[e] = dim(g.m, c[e]), n[e] = dim(g.n, c[e]), k[e] = dim(g.k, c[e]);
            std::vector<float> al(E, alpha), be(E, beta);
            cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
            auto grouped = [&] {
                st = cublasGemmGroupedBatchedEx(h, ta.data(), tb.data(), m.data(), n.data(), k.data(), al.data(),
                                                (const void* const*)gptrs, CUDA_R_16BF, lda.data(),
                                                (const void* const*)gptrs + E, CUDA_R_16BF, ldb.data(), be.data(),
                                                gptrs + 2 * E, g.ct, ldc.data(), int(E), one.data(), CUBLAS_COMPUTE_32F);
            };
            grouped();
            const double t_grp = st == CUBLAS_STATUS_SUCCESS ? time_ms(s, grouped) : NAN;
            // tiles: the same problems in the kernel's row-major view (expert_groups.cpp tile_problem)
            std::vector<moe::kernels::GroupedGemmProblem> probs(E);
            bool tiles_ok = true;
            for (int e = 0; e < E; ++e) {
                auto& q = probs[e];
                q.a = B(e, off[e]);
                q.b = A(e, off[e]);
                q.c = C(e, off[e]);
                q.m = dim(g.n, c[e]), q.n = dim(g.m, c[e]), q.k = dim(g.k, c[e]);
                q.lda = int(g.ldb), q.ldb = int(g.lda), q.ldc = int(g.ldc);
                tiles_ok &= moe::kernels::grouped_gemm_supported(q, g.tb == CUBLAS_OP_N, g.ta == CUBLAS_OP_T);
            }
            moe::kernels::GroupedGemmProblem* dprobs;
            int32_t* dstart;
            CK(cudaMalloc(&dprobs, E * sizeof(probs[0])));
            CK(cudaMalloc(&dstart, (E + 1) * sizeof(int32_t)));
            CK(cudaMemcpy(dprobs, probs.data(), E * sizeof(probs[0]), cudaMemcpyHostToDevice));
            const bool a_k = g.tb == CUBLAS_OP_N, b_k = g.ta == CUBLAS_OP_T;
            // The kernel's arguments for variant v (its tile counts uploaded to dstart).
            auto tile_args = [&](int v) {
                std::vector<int32_t> tstart{0};
                for (int e = 0; e < E; ++e)
                    tstart.push_back(tstart.back() + moe::kernels::grouped_gemm_tiles(probs[e].m, probs[e].n, v));
                CK(cudaMemcpy(dstart, tstart.data(), (E + 1) * sizeof(int32_t), cudaMemcpyHostToDevice));
                moe::kernels::GroupedGemmArgs targs;
                targs.problems = dprobs, targs.tile_start = dstart, targs.count = int(E), targs.total_tiles = tstart.back();
                targs.a_k_contig = a_k, targs.b_k_contig = b_k;
                targs.c_bf16 = g.ct == CUDA_R_16BF, targs.alpha = alpha, targs.beta = beta, targs.variant = v;
                return targs;
            };
            std::vector<double> t_var(moe::kernels::kGroupedGemmVariants, NAN);
            for (int v = 0; v < moe::kernels::kGroupedGemmVariants && tiles_ok; ++v) {
                const moe::kernels::GroupedGemmArgs targs = tile_args(v);
                t_var[v] = time_ms(s, [&] { CK(moe::kernels::grouped_gemm_bf16(targs, s)); });
            }
            // The persistent variants again with TMA copies: the tensors every expert's A and B lie in
            // (A = rows from B(0, 0), K-contiguous; B = from A(0, 0), rows n or k by its layout).
            double t_tma[2] = {NAN, NAN};
            auto tensor = [&](const void* base, bool a_side) {
                moe::kernels::GroupedOperandTensor t{base, 0, 0, 0};
                for (int e = 0; e < E; ++e) {
                    const auto& q = probs[e];
                    const int ld = a_side ? q.lda : q.ldb;
                    const int cols = a_side || b_k ? q.k : q.n, rows = a_side ? q.m : (b_k ? q.n : q.k);
                    const int64_t row0 = ((const char*)(a_side ? q.a : q.b) - (const char*)base) / (2 * int64_t(ld));
                    t.cols = cols, t.ld = ld, t.rows = std::max<int64_t>(t.rows, row0 + rows);
                }
                return t;
            };
            for (int w = 0; w < 2 && tiles_ok && a_k; ++w) {
                moe::kernels::GroupedGemmArgs targs =
                    tile_args(w ? moe::kernels::kGroupedWgmmaWsWide : moe::kernels::kGroupedWgmmaWs);
                targs.a_tensor = tensor(B(0, 0), true);
                targs.b_tensor = tensor(A(0, 0), false);
                if (moe::kernels::grouped_gemm_tma_ready(targs))
                    t_tma[w] = time_ms(s, [&] { CK(moe::kernels::grouped_gemm_bf16(targs, s)); });
            }
            const double t_tiles = t_var[0];
            CK(cudaFree(dprobs));
            CK(cudaFree(dstart));
            auto dense = [&] {
                cublasGemmEx(h, g.ta, g.tb, dim(g.m, N), dim(g.n, N), dim(g.k, N), &alpha, A(0, 0), CUDA_R_16BF,
                             int(g.lda), B(0, 0), CUDA_R_16BF, int(g.ldb), &beta, C(0, 0), g.ct, int(g.ldc),
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
            };
            const double t_dense = time_ms(s, dense);
            CK(cudaDeviceSynchronize());
            CK(cudaFree(gptrs));
            auto tf = [&](double ms) { return flops / (ms * 1e-3) / 1e12; };
            std::printf("%-18s loop %7.3f ms %6.1f TF | padded %7.3f ms %6.1f TF | grouped %7.3f ms %6.1f TF (status %d) | tiles %7.3f ms %6.1f TF | dense %7.3f ms %6.1f TF\n",
                        g.name, t_loop, tf(t_loop), t_pad, tf(t_pad), t_grp, tf(t_grp), int(st), t_tiles, tf(t_tiles), t_dense, tf(t_dense));
            std::printf("%-18s tile variants (TF):", g.name);
            for (int v = 0; v < moe::kernels::kGroupedGemmVariants; ++v) {
                const moe::kernels::GroupedGemmTile t = moe::kernels::grouped_gemm_tile(v);
                std::printf(" v%d %dx%d %6.1f |", v, t.m, t.n, tf(t_var[v]));
            }
            std::printf(" TMA: v8 %6.1f | v9 %6.1f\n", tf(t_tma[0]), tf(t_tma[1]));
        }
    }
    CK(cudaGetLastError());
    return 0;
}
