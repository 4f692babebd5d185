#include "support/fp8_encode.h"

#include <cmath>

#include "core/dtype.h"

namespace moe::test {

uint8_t f32_to_fp8_e4m3(float v) {
    uint8_t best = 0;
    float best_err = INFINITY;
    for (int code = 0; code < 256; ++code) {
        const float f = fp8_e4m3_to_f32(uint8_t(code));
        if (std::isnan(f)) continue;
        const float err = std::fabs(f - v);
        if (err < best_err) {
            best_err = err;
            best = uint8_t(code);
        }
    }
    return best;
}

}  // namespace moe::test
