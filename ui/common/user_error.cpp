#include "user_error.h"

#include <QCoreApplication>

#include <initializer_list>

namespace moe::ui {

namespace {

// One kind of failure: it matches when the technical text contains any of `any` (and `also`, when
// set). The first matching rule wins, so specific codes come before the broad phrases.
struct Rule {
    std::initializer_list<const char*> any;
    const char* also;
    const char* what;
    const char* action;
};

// clang-format off
const Rule kRules[] = {
    {{"Interrupted:"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the reply was cut off because the engine stopped while writing it"),
     QT_TRANSLATE_NOOP("UserError", "The text so far is kept. Press Retry once the engine is back (the banner at the top says when).")},
    {{"hub.unavailable", "without libcurl"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this build of the engine cannot reach the model hub (it was built without libcurl)"),
     QT_TRANSLATE_NOOP("UserError", "Install libcurl4-openssl-dev and rebuild, or download the model elsewhere and open its folder with File › Open model folder…")},
    {{"hub.gated", "is gated"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this model is gated: its authors want you to accept their terms before downloading"),
     QT_TRANSLATE_NOOP("UserError", "Open the model's page on the hub and accept the terms, then put your access token in the Token field of the Hub settings.")},
    {{"hub.unauthorized"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the hub refused the access token, or needs one"),
     QT_TRANSLATE_NOOP("UserError", "Check the Token field of the Hub settings: a read token from your hub account's settings page.")},
    {{"hub.rate_limited", "HTTP 429"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the hub is limiting how many requests you can make"),
     QT_TRANSLATE_NOOP("UserError", "Wait a minute and try again; an access token in the Hub settings raises the limit.")},
    {{"hub.not_found"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the hub has no such model, revision or file"),
     QT_TRANSLATE_NOOP("UserError", "Check the repository name (owner/name) and the revision.")},
    {{"hub.disk_full", "No space left"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the disk is full"),
     QT_TRANSLATE_NOOP("UserError", "Free some space, or choose a cache folder on another disk in the Hub settings, then press Resume: what was downloaded is kept.")},
    {{"hub.verify_failed"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "a downloaded file arrived damaged (its checksum did not match)"),
     QT_TRANSLATE_NOOP("UserError", "Press Retry to fetch it again. If it keeps failing, a proxy between you and the hub is changing the data.")},
    {{"hub.locked"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "another download is writing the same files right now"),
     QT_TRANSLATE_NOOP("UserError", "Wait for it to finish, then try again.")},
    {{"hub.pickle_only", "only pickle weights"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this repository has only pickle weights (.bin/.pt), which can run code when loaded, so the engine refuses them"),
     QT_TRANSLATE_NOOP("UserError", "Look for a version of the model with .safetensors files.")},
    {{"hub.network", "Could not resolve host", "network error while fetching"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model hub could not be reached"),
     QT_TRANSLATE_NOOP("UserError", "Check the internet connection (and the Endpoint in the Hub settings, if you changed it), then try again.")},
    {{"hub.io"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "a file in the model cache could not be written or read"),
     QT_TRANSLATE_NOOP("UserError", "Check that the cache folder (Hub settings) exists, is writable and has free space.")},
    {{"train.busy"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "another fine-tune run is still training (one run trains at a time)"),
     QT_TRANSLATE_NOOP("UserError", "Cancel it in the Fine-tune panel, or wait for it to finish.")},
    {{"train.unavailable"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this server runs no fine-tune jobs"),
     QT_TRANSLATE_NOOP("UserError", "Fine-tuning needs moe-engine: use the local engine (Connection › Local engine).")},
    {{"train.unknown_run"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this run is no longer in the engine's runs folder"),
     QT_TRANSLATE_NOOP("UserError", "It was moved or deleted; pick another run from the list.")},
    {{"train.not_running", "train.not_paused"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the run is not in a state where that works any more (it finished, stopped or changed state meanwhile)"),
     QT_TRANSLATE_NOOP("UserError", "Nothing was changed; the panel shows its state now.")},
    {{"train.diverged"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the training diverged: the loss or the gradients stopped being finite numbers several steps in a row"),
     QT_TRANSLATE_NOOP("UserError", "Start again with a lower learning rate (and perhaps a warm-up).")},
    {{"train.no_mtp_modules"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this model has no multi-token-prediction (MTP) modules to train"),
     QT_TRANSLATE_NOOP("UserError", "Choose LoRA or full fine-tuning and set the MTP loss weight to 0.")},
    {{"train.nothing_to_train", "train.no_targets"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the chosen method leaves nothing in this model to train"),
     QT_TRANSLATE_NOOP("UserError", "Choose other LoRA targets or another method.")},
    {{"export.no_checkpoint"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the run has not saved a checkpoint yet"),
     QT_TRANSLATE_NOOP("UserError", "Wait for its first checkpoint (the \"save every\" setting) or for the run to end.")},
    {{"data.missing_source", "data.unreadable", "data.empty_source", "data.empty"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the training data could not be read, or holds nothing to train on"),
     QT_TRANSLATE_NOOP("UserError", "Check the files and folders in the Data list: they must exist and hold .jsonl or text files.")},
    {{"data.no_chat_template", "data.template_prefix"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model's chat template cannot be used to train on these conversations"),
     QT_TRANSLATE_NOOP("UserError", "Train on plain text instead, or use a model whose template renders each turn the same way every time.")},
    {{"data.bad_config", "data.bad_field", "data.bad_domain", "data.assistant_first", "data.no_assistant",
      "data.unknown_role", "data.unsupported", "train.bad_config", "train.short_sequence"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "a setting of the run or a line of its data is not valid"),
     QT_TRANSLATE_NOOP("UserError", "The details name the setting or the file and line, and what is wrong: fix it and try again.")},
    {{"invalid_api_key", "HTTP 401"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the server refused the API key"),
     QT_TRANSLATE_NOOP("UserError", "Check the key in Connection › Connect to server…")},
    {{"context_length_exceeded", "model.context_full"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the conversation and the reply no longer fit in what the model can read at once (its context)"),
     QT_TRANSLATE_NOOP("UserError", "Start a new chat (File › New chat), shorten your message, or lower the reply length limit in the chat settings.")},
    {{"prompt_too_long"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the message is longer than this engine accepts"),
     QT_TRANSLATE_NOOP("UserError", "Shorten it, or split it into several messages.")},
    {{"no_chat_template"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "this model has no chat template, so it cannot hold a conversation"),
     QT_TRANSLATE_NOOP("UserError", "Load a chat (instruct) version of the model.")},
    {{"unsupported"}, "routed_experts",
     QT_TRANSLATE_NOOP("UserError", "this server does not report which experts each token used"),
     QT_TRANSLATE_NOOP("UserError", "Turn off \"Record expert routing\" in the chat settings, or start the server with routed-expert support (SGLang: --enable-return-routed-experts).")},
    {{"invalid_value", "invalid_type", "missing_field"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the engine refused one of the request's settings"),
     QT_TRANSLATE_NOOP("UserError", "The details name the setting and its allowed values: change it (chat settings), then press Retry.")},
    {{"template."}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model's chat template refused this conversation"),
     QT_TRANSLATE_NOOP("UserError", "Chat templates usually need your turns and the model's to alternate: edit the last message, or start a new chat.")},
    {{"model_not_found", "no model loaded", "no model is loaded"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "no model is loaded in the engine"),
     QT_TRANSLATE_NOOP("UserError", "Open one with File › Open model folder…, or load one from the Models panel's Library.")},
    {{"unsupported_architecture"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the engine does not run this kind of model"),
     QT_TRANSLATE_NOOP("UserError", "It runs DeepSeek-V3, R1, V2, V2-Lite, Moonlight and Qwen2 (R1-Distill-Qwen) checkpoints.")},
    {{"cuda.out_of_memory", "out of memory"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model does not fit in the GPU's memory"),
     QT_TRANSLATE_NOOP("UserError", "Choose a smaller model or a shorter context, or close other programs that use the GPU.")},
    {{"cuda.no_device", "no CUDA device"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "no usable GPU was found"),
     QT_TRANSLATE_NOOP("UserError", "Use the CPU (backend auto picks it), or check the NVIDIA driver if you expected a GPU.")},
    {{"model_path_not_found", "config.not_found", "not_a_directory", "io.open_failed"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model folder is missing or incomplete"),
     QT_TRANSLATE_NOOP("UserError", "Pick the folder that holds config.json, the tokenizer files and the .safetensors weights.")},
    {{"checkpoint.", "safetensors.", "index.", "config."}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the model's files are damaged or not in a form the engine reads"),
     QT_TRANSLATE_NOOP("UserError", "Check that its download finished (Models › Downloads), or download it again.")},
    {{"cannot start", "FailedToStart"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the engine program could not be started"),
     QT_TRANSLATE_NOOP("UserError", "Make sure moe-engine was built next to moe-workbench, or point the MOE_ENGINE_BIN environment variable at it.")},
    {{"cannot reach", "Connection refused", "no answer within", "Host unreachable"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the engine did not answer"),
     QT_TRANSLATE_NOOP("UserError", "A local engine may be restarting: wait a moment and try again. For a server, check that it runs and that its address (Connection › Connect to server…) is right.")},
    {{"not JSON", "is not an object", "not a JSON object", "neither an event stream nor JSON"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the engine answered with something the workbench could not read"),
     QT_TRANSLATE_NOOP("UserError", "moe-workbench and moe-engine probably come from different builds: rebuild both. The details help a bug report.")},
    {{"HTTP 5"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "the server ran into an internal error"),
     QT_TRANSLATE_NOOP("UserError", "Try again; if it keeps happening, the engine log (View › Engine log) says more.")},
    {{"exited with code", "crashed", "killed by signal"}, nullptr,
     QT_TRANSLATE_NOOP("UserError", "an engine process stopped unexpectedly"),
     QT_TRANSLATE_NOOP("UserError", "Try again; the details show its last messages.")},
};
// clang-format on

bool matches(const Rule& rule, const QString& text) {
    if (rule.also && !text.contains(QLatin1String(rule.also), Qt::CaseInsensitive)) return false;
    for (const char* needle : rule.any)
        if (text.contains(QLatin1String(needle), Qt::CaseInsensitive)) return true;
    return false;
}

QString tr(const char* text) { return QCoreApplication::translate("UserError", text); }

}  // namespace

QString UserError::text() const {
    QString head = what;
    if (!activity.isEmpty()) head = QStringLiteral("%1 failed: %2").arg(activity, what);
    else if (!head.isEmpty()) head[0] = head[0].toUpper();
    return QStringLiteral("%1. %2").arg(head, action);
}

UserError explainError(const QString& detail, const QString& activity) {
    UserError error{activity, {}, {}, detail.trimmed()};
    for (const Rule& rule : kRules) {
        if (!matches(rule, detail)) continue;
        error.what = tr(rule.what);
        error.action = tr(rule.action);
        return error;
    }
    error.what = tr("something went wrong");
    error.action = tr("The details say what the engine reported; the engine log (View › Engine log) may say more.");
    return error;
}

QString breakable(const QString& text) {
    constexpr int kLongRun = 24;  // characters without a space that may not fit a narrow label
    QString out;
    out.reserve(text.size() + text.size() / 8);
    int run = 0;
    for (const QChar c : text) {
        out += c;
        run = c.isSpace() ? 0 : run + 1;
        // Break after URL and path separators first, else anywhere once the run is very long.
        const bool separator = c == QLatin1Char('/') || c == QLatin1Char('?') || c == QLatin1Char('&') ||
                               c == QLatin1Char('=') || c == QLatin1Char('_') || c == QLatin1Char('.');
        if ((run >= kLongRun / 2 && separator) || run >= kLongRun) {
            out += QChar(0x200B);  // zero-width space: a line may break here, nothing is drawn
            run = 0;
        }
    }
    return out;
}

}  // namespace moe::ui
