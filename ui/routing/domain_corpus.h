// Domains for the per-domain routing run: the bundled corpora (resources/corpora/, embedded as
// :/corpora/*.txt) and the user's own files. A domain is a name and the texts that make it up.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace moe::ui {

struct DomainCorpus {
    QString name;          // "code", "math", ... or what the user chose
    QStringList sources;   // where each text came from (resource path or file path)
    QStringList texts;

    int characters() const;
};

// The bundled corpora, one domain per file, in a fixed order (code, math, English prose, Chinese
// prose, dialogue, then any other file in :/corpora). Their provenance: resources/corpora/README.md.
QVector<DomainCorpus> builtinDomains();

// Reads a UTF-8 text file; false + *error naming the file when it cannot be read, is empty or is not
// valid UTF-8 text.
bool readTextFile(const QString& path, QString* text, QString* error);

// A rough token count without a tokenizer: ~4 characters of Latin text per token, one token per
// CJK character (DeepSeek's BPE merges some CJK pairs, so this errs towards more tokens). It only
// sizes the chunks; the routed token counts always come from the server.
int estimateTokens(const QString& text);

// A text as the pieces a chunk may not split: a CJK character, or a word with the whitespace after it.
struct TextUnits {
    QStringList units;
    QVector<int> tokens;  // estimateTokens of each unit
    int size() const { return int(units.size()); }
};
TextUnits splitUnits(const QString& text);

// The next chunk from units[*cursor] on: as many units as fit in target_tokens estimated tokens (at
// least one), trimmed. Advances *cursor; returns "" only when the units are used up.
QString takeChunk(const TextUnits& units, int* cursor, int target_tokens);

// Splits text into chunks of about tokens_per_chunk estimated tokens, at whitespace (or between CJK
// characters), never inside a word. Concatenated, the chunks give back the text minus the
// whitespace at the cuts. Empty chunks are never returned.
QStringList chunkText(const QString& text, int tokens_per_chunk);

}  // namespace moe::ui
