// The "Tokens" view of a reply: every completion token as a clickable anchor ("tok:<index>") on
// alternating backgrounds, so token boundaries are visible; whitespace and newlines are made visible.
#pragma once

#include <QString>
#include <QVector>

#include "engine_client.h"

namespace moe::ui {

QString tokenMarkup(const QVector<CompletionToken>& tokens, int selected = -1);
// The index in a "tok:<index>" anchor, -1 for anything else.
int tokenIndexFromAnchor(const QString& anchor);

}  // namespace moe::ui
