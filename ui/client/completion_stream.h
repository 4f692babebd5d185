// Folds the chunks of one streamed completion (OpenAI chat.completion.chunk / text_completion, or one
// non-streamed response) into a CompletionResult. Pure data, no I/O: EngineClient feeds it.
#pragma once

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include "engine_client.h"

namespace moe::ui {

struct ChunkText {
    QString content;
    QString reasoning;
    bool empty() const { return content.isEmpty() && reasoning.isEmpty(); }
};

class CompletionStream {
public:
    CompletionStream() { clock_.start(); }

    // One parsed chunk (or a whole non-streamed response); returns the text it adds.
    ChunkText consume(const QJsonObject& chunk);
    // The result so far; fills timings the server did not send from what the client saw.
    CompletionResult result() const;
    // The chunk that carried workbench/sglext fields (the finishing chunk), usage merged in.
    const QJsonObject& finalChunk() const { return final_; }
    bool sawFinish() const { return !result_.finish_reason.isEmpty(); }

private:
    void take_usage(const QJsonObject& usage);
    void take_workbench(const QJsonObject& chunk);
    void take_drafted(const QJsonArray& flags);

    CompletionResult result_;
    QJsonObject final_;
    QElapsedTimer clock_;           // started with the request
    qint64 first_text_ms_ = -1;     // client-side time to first text, for servers without "workbench"
    qint64 last_text_ms_ = -1;
    int text_chunks_ = 0;
    bool server_timings_ = false;
};

}  // namespace moe::ui
