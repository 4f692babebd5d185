// Errors in the user's words. Whatever failed — the hub, a download, the engine, a chat request —
// arrives as technical text ("…: network error … [hub.network]", "HTTP 400 context_length_exceeded:
// … — POST http://…"). explainError() turns it into what happened and what to do, in plain words;
// the technical text is kept whole as the detail (shown one click away, for a bug report).
#pragma once

#include <QString>

namespace moe::ui {

struct UserError {
    QString activity;  // what the user was doing, e.g. "Search" ("" when not said)
    QString what;      // what happened, lower-case clause: "the model hub could not be reached"
    QString action;    // what to do, one or two sentences
    QString detail;    // the technical text as it arrived (codes, URLs, server messages)

    // "Search failed: the model hub could not be reached. Check the internet connection, …"
    QString text() const;
};

// detail: the technical message; activity: what was being done ("Search", "Loading the model").
UserError explainError(const QString& detail, const QString& activity = {});

// The text with a zero-width break opportunity inside every long unbroken run (a URL, a path), so a
// word-wrapped label can always wrap instead of growing as wide as the run.
QString breakable(const QString& text);

}  // namespace moe::ui
