// Small dense products on raw f32 arrays for the CPU reference's backward ops (row-major, fp32
// accumulation, OpenMP over output rows when the work is large enough).
//   mm_nt: C [n, m] (+)= A [n, k] · B [m, k]ᵀ      (a forward linear)
//   mm_nn: C [n, m] (+)= A [n, k] · B [k, m]       (a linear's input gradient)
//   mm_tn: C [m, k]  += A [n, m]ᵀ · B [n, k]       (a linear's weight gradient)
#pragma once

#include <cstdint>

namespace moe::cpu {

void mm_nt(const float* a, int64_t n, int64_t k, const float* b, int64_t m, float* c, bool accumulate);
void mm_nn(const float* a, int64_t n, int64_t k, const float* b, int64_t m, float* c, bool accumulate);
void mm_tn(const float* a, int64_t n, int64_t m, const float* b, int64_t k, float* c);

}  // namespace moe::cpu
