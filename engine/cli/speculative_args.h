// --speculative [--draft N] for `generate` and `bench`: the options, checked against the model.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "generate/speculative.h"

namespace moe {
class Model;
}

namespace moe::cli {

// The two option specs, for a command's table.
std::vector<OptionSpec> speculative_option_specs();

// Speculation as the arguments ask for it. --draft without --speculative is an error; a model
// without MTP modules is "cli.no_mtp" naming `model_dir` and how to give it a drafting head; a
// --draft above the modules present is clamped with a warning on stderr.
SpeculativeOptions speculative_options(const Args& args, const Model& model, const std::string& model_dir);

// "[speculative: 2 drafts per step, 41 steps, 82 drafted, accepted per position 35 20 (0.854 0.488),
//  mean accepted length 2.341]"
std::string speculative_summary(const SpeculativeStats& stats, int64_t draft_tokens);

}  // namespace moe::cli
