// moe-engine demo --out DIR
// Writes the embedded demo model (engine/demo/: a tiny DeepSeek-V3-architecture checkpoint with
// deterministic, untrained weights) as a Hugging Face checkpoint directory. The same bytes every
// time, so running it twice changes nothing. `moe-engine serve --demo` does this on its own.
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "demo/demo_model.h"
#include "demo/demo_spec.h"

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"out", true, "directory to write (created if missing; default: the workbench's cache, as serve --demo uses)"},
    {"help", false, "show this help"}};

}  // namespace

int cmd_demo(const std::vector<std::string>& argv) {
    Args args(argv, kSpecs);
    if (args.has("help")) {
        std::fputs(usage_for("demo", "[--out DIR]", kSpecs).c_str(), stdout);
        return 0;
    }
    const std::string dir = args.get_or("out", demo::default_demo_dir());
    demo::write_demo_model(dir);
    spdlog::info("demo: wrote the untrained demo model '{}' to {}", demo::kDemoModelId, dir);
    std::printf("%s\n", dir.c_str());
    return 0;
}

}  // namespace moe::cli
