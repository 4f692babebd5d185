// The fp8-e4m3 code nearest to a float (exhaustive over the 256 codes, NaN codes skipped): how the
// test writers quantise checkpoints. The engine only ever decodes fp8.
#pragma once

#include <cstdint>

namespace moe::test {

uint8_t f32_to_fp8_e4m3(float v);

}  // namespace moe::test
