// moe-engine export --run DIR [--step N] --out DIR [--dtype auto|bf16|f32|fp8]
// A training run's checkpoint as a Hugging Face checkpoint (engine/train/export.h). stdout: one
// JSON line describing what was written.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "train/export.h"

namespace moe::cli {

int cmd_export(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"run", true, "the run folder (moe-engine train --out)"},
        {"step", true, "which checkpoint (default: the latest)"},
        {"out", true, "output folder (must not exist or be empty)"},
        {"dtype", true, "auto (the base's own) | bf16 | f32 | fp8 (e4m3, 128x128 block scales)"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("export", "--run DIR [--step N] --out DIR [--dtype auto|bf16|f32|fp8]", specs).c_str(),
                   stdout);
        return 0;
    }
    train::ExportOptions o;
    o.run_dir = args.require("run");
    o.step = args.get_int("step", -1);
    o.out = args.require("out");
    o.dtype = args.get_or("dtype", "auto");
    const Json summary = train::export_run(o);
    std::printf("%s\n", summary.dump().c_str());
    return 0;
}

}  // namespace moe::cli
