// The test writers quantise checkpoints with the engine's own encoder (core/dtype.h).
#pragma once

#include "core/dtype.h"

namespace moe::test {
using moe::f32_to_fp8_e4m3;
}  // namespace moe::test
