#include "completion_stream.h"

#include <QJsonArray>

namespace moe::ui {

ChunkText CompletionStream::consume(const QJsonObject& chunk) {
    ChunkText text;
    const QJsonArray choices = chunk.value("choices").toArray();
    if (!choices.isEmpty()) {
        const QJsonObject choice = choices.first().toObject();
        // chat: delta (streamed) or message (whole); completions: text.
        const QJsonObject delta = choice.contains("delta") ? choice.value("delta").toObject()
                                                           : choice.value("message").toObject();
        text.content = delta.value("content").toString() + choice.value("text").toString();
        text.reasoning = delta.value("reasoning_content").toString();
        const QString finish = choice.value("finish_reason").toString();
        if (!finish.isEmpty()) result_.finish_reason = finish;
    }
    if (chunk.value("usage").isObject()) take_usage(chunk.value("usage").toObject());
    if (chunk.contains("workbench") || chunk.contains("sglext") || chunk.contains("meta_info") ||
        (!choices.isEmpty() && !choices.first().toObject().value("finish_reason").isNull())) {
        final_ = chunk;
        take_workbench(chunk);
    } else if (chunk.value("usage").isObject() && !final_.isEmpty()) {
        final_.insert("usage", chunk.value("usage"));  // include_usage: usage rides in its own last chunk
    }
    if (!text.empty()) {
        result_.content += text.content;
        result_.reasoning += text.reasoning;
        last_text_ms_ = clock_.elapsed();
        if (first_text_ms_ < 0) first_text_ms_ = last_text_ms_;
        ++text_chunks_;
    }
    return text;
}

void CompletionStream::take_usage(const QJsonObject& usage) {
    result_.prompt_tokens = usage.value("prompt_tokens").toInt(result_.prompt_tokens);
    result_.completion_tokens = usage.value("completion_tokens").toInt(result_.completion_tokens);
}

void CompletionStream::take_workbench(const QJsonObject& chunk) {
    const QJsonObject w = chunk.value("workbench").toObject();
    if (w.contains("time_to_first_token_ms")) {
        server_timings_ = true;
        result_.time_to_first_token_ms = w.value("time_to_first_token_ms").toDouble(-1);
        result_.tokens_per_second = w.value("decode_tokens_per_second").toDouble(-1);
    }
    const QJsonArray tokens = w.value("completion_tokens").toArray();
    if (!tokens.isEmpty()) {
        result_.tokens.clear();
        for (const QJsonValue& v : tokens) {
            const QJsonObject t = v.toObject();
            result_.tokens.append(CompletionToken{t.value("id").toInt(-1), t.value("text").toString()});
        }
    }
    take_drafted(w.value("speculative").toObject().value("drafted_tokens").toArray());
}

void CompletionStream::take_drafted(const QJsonArray& flags) {
    // One flag per completion token, in order (docs/api.md "Speculative decoding").
    for (int i = 0; i < result_.tokens.size() && i < flags.size(); ++i) result_.tokens[i].drafted = flags[i].toBool();
}

CompletionResult CompletionStream::result() const {
    CompletionResult r = result_;
    r.raw_final = final_;
    if (r.completion_tokens == 0) r.completion_tokens = r.tokens.isEmpty() ? text_chunks_ : int(r.tokens.size());
    if (!server_timings_ && first_text_ms_ >= 0) {
        // A server without workbench fields (vLLM, SGLang): what the client saw, network included.
        r.time_to_first_token_ms = double(first_text_ms_);
        const double decode_s = double(last_text_ms_ - first_text_ms_) / 1000.0;
        if (decode_s > 0 && r.completion_tokens > 1) r.tokens_per_second = (r.completion_tokens - 1) / decode_s;
    }
    return r;
}

}  // namespace moe::ui
