// One message of a conversation as the chat panel shows and stores it: plain data, no widgets.
#pragma once

#include <QString>
#include <QVector>

#include "engine_client.h"

namespace moe::ui {

struct ChatMessage {
    QString role;       // "user" | "assistant" (the system prompt is kept per conversation)
    QString content;    // the answer text (markdown)
    QString reasoning;  // R1 <think> text, "" if none
    // Reply bookkeeping (assistant messages only).
    QString model;          // the model that wrote it
    QString finish_reason;  // "stop" | "length" | "cancelled" | "interrupted" | "" while streaming
    QString error;          // an inline error (request failed, engine crashed); "" if none
    double time_to_first_token_ms = -1;
    double tokens_per_second = -1;
    int prompt_tokens = 0;
    int completion_tokens = 0;
    QVector<CompletionToken> tokens;  // completion tokens, when routing was recorded
    RoutedExperts routing;            // routing.tokens == 0 when none was recorded

    bool isUser() const { return role == QLatin1String("user"); }
    bool hasRouting() const { return routing.tokens > 0; }
};

}  // namespace moe::ui
