// The demo model's tensors (names and shapes as Hugging Face's DeepSeek-V3 checkpoints have them),
// each filled from its own counter-based pseudo-random stream: the values depend only on the seed
// and the tensor's name, so they are the same on every machine and in any write order.
#pragma once

#include <map>
#include <string>

#include "demo/demo_spec.h"
#include "io/tensor_file_writer.h"

namespace moe::demo {

std::map<std::string, TensorToWrite> demo_tensors(const DemoShape& s = {}, uint64_t seed = kDemoSeed);

}  // namespace moe::demo
