#include "cpu/cpu_matmul.h"

#include <algorithm>
#include <vector>

#include "cpu/cpu_storage.h"

namespace moe::cpu {

void mm_nt(const float* a, int64_t n, int64_t k, const float* b, int64_t m, float* c, bool accumulate) {
#pragma omp parallel if (n * m * k >= kMinParallelWork)
    {
        std::vector<float> row(accumulate ? size_t(m) : 0);
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            float* ci = c + i * m;
            if (!accumulate) {
                dot_rows(a + i * k, b, k, m, k, ci);
                continue;
            }
            dot_rows(a + i * k, b, k, m, k, row.data());
            for (int64_t j = 0; j < m; ++j) ci[j] += row[size_t(j)];
        }
    }
}

void mm_nn(const float* a, int64_t n, int64_t k, const float* b, int64_t m, float* c, bool accumulate) {
#pragma omp parallel for schedule(static) if (n * m * k >= kMinParallelWork)
    for (int64_t i = 0; i < n; ++i) {
        float* ci = c + i * m;
        if (!accumulate) std::fill_n(ci, m, 0.0f);
        for (int64_t p = 0; p < k; ++p) {
            const float av = a[i * k + p];
            if (av == 0.0f) continue;
            const float* bp = b + p * m;
#pragma omp simd
            for (int64_t j = 0; j < m; ++j) ci[j] += av * bp[j];
        }
    }
}

void mm_tn(const float* a, int64_t n, int64_t m, const float* b, int64_t k, float* c) {
#pragma omp parallel for schedule(static) if (n * m * k >= kMinParallelWork)
    for (int64_t j = 0; j < m; ++j) {
        float* cj = c + j * k;
        for (int64_t i = 0; i < n; ++i) {
            const float av = a[i * m + j];
            if (av == 0.0f) continue;
            const float* bi = b + i * k;
#pragma omp simd
            for (int64_t p = 0; p < k; ++p) cj[p] += av * bi[p];
        }
    }
}

}  // namespace moe::cpu
