// The "Tokens" view of a reply: every completion token as a clickable anchor ("tok:<index>") on
// alternating backgrounds, so token boundaries are visible; whitespace and newlines are made visible.
// A reply written with speculative decoding tints the tokens an MTP module drafted and the model kept
// green (still alternating), and the view starts with a legend saying what the colours mean.
#pragma once

#include <QString>
#include <QVector>

#include "engine_client.h"

namespace moe::ui {

// Backgrounds, alternating by token index: tokens the model chose itself, and drafted-and-kept ones.
inline constexpr const char* kTokenBackgrounds[2] = {"#dbe9f7", "#f7e6cf"};
inline constexpr const char* kDraftedTokenBackgrounds[2] = {"#bfe5b8", "#93d18a"};
inline constexpr const char* kSelectedTokenBackground = "#f5c542";

QString tokenMarkup(const QVector<CompletionToken>& tokens, int selected = -1);
// tokenMarkup, after the legend of the tint when any token was drafted.
QString tokenViewMarkup(const QVector<CompletionToken>& tokens, int selected = -1);
bool hasDraftedTokens(const QVector<CompletionToken>& tokens);
int draftedTokenCount(const QVector<CompletionToken>& tokens);
// The index in a "tok:<index>" anchor, -1 for anything else.
int tokenIndexFromAnchor(const QString& anchor);

}  // namespace moe::ui
