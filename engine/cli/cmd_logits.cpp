// moe-engine logits --model DIR --tokens 1,2,3 --out F.npy : float32 [T, vocab] of one forward.
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/npy_writer.h"
#include "session/model_session.h"

namespace moe::cli {

int cmd_logits(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"model", true, "checkpoint directory (config.json + *.safetensors)"},
        {"tokens", true, "comma-separated token ids"},
        {"out", true, "output .npy path (float32 [T, vocab])"},
        {"backend", true, "cpu | cuda | auto (default auto)"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("logits", "--model DIR --tokens 1,2,3 --out F.npy", specs).c_str(), stdout);
        return 0;
    }
    const auto tokens = parse_token_list(args.require("tokens"));
    const std::string out = args.require("out");
    auto session = open_model(args.require("model"), args.get_or("backend", "auto"), int64_t(tokens.size()));
    const Logits logits = session.model->forward(tokens, 0, LogitRows::All);
    write_npy_f32(out, logits.data, logits.rows, logits.cols);
    spdlog::info("wrote {}: float32 [{}, {}]", out, logits.rows, logits.cols);
    return 0;
}

}  // namespace moe::cli
