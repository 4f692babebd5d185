// moe-engine demo [--out DIR] [--untrained]
// Writes an embedded demo model (engine/demo/demo_model.h) as a Hugging Face checkpoint directory:
// by default the tiny DeepSeek-V3-architecture model this engine trained (resources/demo-model/),
// with --untrained the same family with deterministic random weights. The same bytes every time,
// so running it twice changes nothing. `moe-engine serve --demo` does this on its own.
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "demo/demo_model.h"

namespace moe::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"out", true, "directory to write (created if missing; default: the workbench's cache, as serve --demo uses)"},
    {"untrained", false, "the untrained demo model (random weights) instead of the trained one"},
    {"help", false, "show this help"}};

}  // namespace

int cmd_demo(const std::vector<std::string>& argv) {
    Args args(argv, kSpecs);
    if (args.has("help")) {
        std::fputs(usage_for("demo", "[--out DIR] [--untrained]", kSpecs).c_str(), stdout);
        return 0;
    }
    const auto kind = args.has("untrained") ? demo::DemoKind::Untrained : demo::DemoKind::Trained;
    const std::string dir = args.get_or("out", demo::default_demo_dir(kind));
    demo::write_demo_model(dir, kind);
    spdlog::info("demo: wrote the {} demo model '{}' to {}", args.has("untrained") ? "untrained" : "trained",
                 demo::model_id(kind), dir);
    std::printf("%s\n", dir.c_str());
    return 0;
}

}  // namespace moe::cli
