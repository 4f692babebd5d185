// moe-engine grad --model DIR --tokens FILE [--backend cpu|cuda] [--mtp-lambda L] [--balance-alpha A]
//                 [--bias-gamma G] [--adamw lr=..,beta1=..,beta2=..,eps=..,wd=..,clip=..] --out OUTDIR
// The training core's handle for parity checks against an autograd reference: the losses, the
// gradient of the total loss for every tensor of the checkpoint, one routing-bias update and
// (with --adamw) one AdamW step, written to OUTDIR as docs/training.md describes. stdout: one JSON
// line with the losses; nothing is written to OUTDIR unless everything succeeded.
#include <cstdio>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "session/model_session.h"
#include "cli/token_file.h"
#include "core/error.h"
#include "train/grad_outputs.h"
#include "train/trainable_source.h"
#include "train/trainer.h"

namespace moe::cli {

namespace {

// "lr=1e-3,beta1=0.9,..." -> AdamWConfig (unknown keys are errors).
train::AdamWConfig parse_adamw(const std::string& text) {
    train::AdamWConfig a;
    a.weight_decay = 0.0f;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos) throw Error("cli.bad_argument", "", "--adamw expects key=value pairs, got '" + item + "'");
        const std::string key = item.substr(0, eq);
        float v = 0.0f;
        try {
            v = std::stof(item.substr(eq + 1));
        } catch (const std::exception&) {
            throw Error("cli.bad_argument", "", "--adamw " + key + ": not a number");
        }
        if (key == "lr") a.lr = v;
        else if (key == "beta1") a.beta1 = v;
        else if (key == "beta2") a.beta2 = v;
        else if (key == "eps") a.eps = v;
        else if (key == "wd") a.weight_decay = v;
        else if (key == "clip") a.clip = v;
        else throw Error("cli.bad_argument", "", "--adamw: unknown key '" + key + "' (lr, beta1, beta2, eps, wd, clip)");
    }
    return a;
}

}  // namespace

int cmd_grad(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"model", true, "checkpoint directory"},
        {"tokens", true, ".npy int32/int64 [B, T] or JSON list of token lists"},
        {"backend", true, "cpu | cuda | auto (default cpu: the reference)"},
        {"mtp-lambda", true, "λ of the MTP loss (default 0)"},
        {"balance-alpha", true, "α of the sequence-wise balance loss (default 0)"},
        {"bias-gamma", true, "γ of the routing-bias update (default 0)"},
        {"adamw", true, "one AdamW step: lr=..,beta1=..,beta2=..,eps=..,wd=..,clip=.."},
        {"out", true, "output folder (must not exist or be empty)"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("grad", "--model DIR --tokens FILE --out OUTDIR", specs).c_str(), stdout);
        return 0;
    }
    const std::string token_path = args.require("tokens"), out = args.require("out");
    train::Objectives obj;
    obj.mtp_lambda = float(args.get_double("mtp-lambda", 0.0));
    obj.balance_alpha = float(args.get_double("balance-alpha", 0.0));
    obj.bias_gamma = float(args.get_double("bias-gamma", 0.0));
    const bool with_adamw = args.has("adamw");
    const train::AdamWConfig adamw = with_adamw ? parse_adamw(args.require("adamw")) : train::AdamWConfig{};

    auto checkpoint = Checkpoint::open(args.require("model"));
    const ModelConfig& config = checkpoint->config();
    const auto batch = read_token_file(token_path);
    check_token_batch(batch, config.vocab_size, config.max_position_embeddings > 0 ? config.max_position_embeddings : INT64_MAX,
                      token_path);
    if (obj.mtp_lambda > 0.0f && checkpoint->num_mtp_layers() == 0)
        throw Error("train.no_mtp_modules", checkpoint->dir(),
                    "--mtp-lambda needs MTP modules, and this checkpoint stores none (num_nextn_predict_layers = " +
                        std::to_string(config.num_nextn_predict_layers) + ")");

    std::unique_ptr<Backend> backend = make_backend(args.get_or("backend", "cpu"));
    train::ParameterStore params(*backend);
    train::TrainableSpec spec;
    spec.checkpoint = checkpoint.get();
    auto graph = train::make_train_graph(spec, params, {});
    train::Trainer trainer(*graph, params, obj, adamw);
    const train::StepResult r =
        trainer.step({train::batch_of_sequences(batch)}, adamw.lr, train::Trainer::Updates{with_adamw, true});
    if (r.skipped) throw Error("train.not_finite", token_path, r.skip_reason + "; nothing was written");
    train::write_grad_outputs(out, r, params, with_adamw);
    std::printf("%s\n", train::losses_json(r).dump().c_str());
    std::fprintf(stderr, "wrote %s: losses, gradients of %zu tensors%s\n", out.c_str(), params.parameters().size(),
                 with_adamw ? ", one AdamW step" : "");
    return 0;
}

}  // namespace moe::cli
