#include "domain_corpus.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringDecoder>

// The corpora live in this static library's resource file; a static library needs the explicit init
// (outside any namespace) or the linker drops the resource object.
static void initCorporaResource() { Q_INIT_RESOURCE(routing_corpora); }

namespace moe::ui {

namespace {

bool isCjk(char32_t c) {
    return (c >= 0x3000 && c <= 0x303F) ||   // CJK punctuation
           (c >= 0x3400 && c <= 0x4DBF) ||   // extension A
           (c >= 0x4E00 && c <= 0x9FFF) ||   // unified ideographs
           (c >= 0xF900 && c <= 0xFAFF) ||   // compatibility ideographs
           (c >= 0xFF00 && c <= 0xFFEF) ||   // full-width forms
           (c >= 0x3040 && c <= 0x30FF) ||   // kana
           (c >= 0xAC00 && c <= 0xD7AF);     // hangul
}

QStringList unitsOf(const QString& text) {
    QStringList out;
    QString current;
    const QList<uint> code_points = text.toUcs4();
    for (uint cp : code_points) {
        const QString ch = QString::fromUcs4(reinterpret_cast<const char32_t*>(&cp), 1);
        const bool space = QChar::isSpace(cp);
        if (isCjk(char32_t(cp))) {
            if (!current.isEmpty()) out << current;
            current = ch;
            continue;
        }
        // A new word starts after whitespace or after a CJK character.
        if (!space && !current.isEmpty() && (current.back().isSpace() || isCjk(current.back().unicode()))) {
            out << current;
            current.clear();
        }
        current += ch;
    }
    if (!current.isEmpty()) out << current;
    return out;
}

}  // namespace

int DomainCorpus::characters() const {
    int n = 0;
    for (const QString& text : texts) n += text.size();
    return n;
}

int estimateTokens(const QString& text) {
    int cjk = 0, other = 0;
    for (uint cp : text.toUcs4()) {
        if (isCjk(char32_t(cp))) ++cjk;
        else ++other;
    }
    return cjk + (other + 3) / 4;
}

TextUnits splitUnits(const QString& text) {
    TextUnits out;
    out.units = unitsOf(text);
    out.tokens.reserve(out.units.size());
    for (const QString& unit : out.units) out.tokens << estimateTokens(unit);
    return out;
}

QString takeChunk(const TextUnits& units, int* cursor, int target_tokens) {
    while (*cursor < units.size()) {
        QString chunk;
        int tokens = 0;
        // Always take one unit, so a word longer than the target still moves on.
        do {
            chunk += units.units[*cursor];
            tokens += units.tokens[*cursor];
            ++*cursor;
        } while (*cursor < units.size() && tokens + units.tokens[*cursor] <= target_tokens);
        chunk = chunk.trimmed();
        if (!chunk.isEmpty()) return chunk;  // (a chunk of only whitespace is skipped)
    }
    return QString();
}

QStringList chunkText(const QString& text, int tokens_per_chunk) {
    const TextUnits units = splitUnits(text);
    QStringList chunks;
    int cursor = 0;
    for (QString chunk = takeChunk(units, &cursor, tokens_per_chunk); !chunk.isEmpty();
         chunk = takeChunk(units, &cursor, tokens_per_chunk))
        chunks << chunk;
    return chunks;
}

bool readTextFile(const QString& path, QString* text, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    const QByteArray bytes = file.readAll();
    QStringDecoder decoder(QStringDecoder::Utf8);
    *text = decoder.decode(bytes);
    if (decoder.hasError() || bytes.contains('\0')) {
        *error = QStringLiteral("%1 is not UTF-8 text").arg(path);
        return false;
    }
    if (text->trimmed().isEmpty()) {
        *error = QStringLiteral("%1 holds no text").arg(path);
        return false;
    }
    return true;
}

QVector<DomainCorpus> builtinDomains() {
    initCorporaResource();
    // The five the issue asks for first, in this order; any further bundled file after them.
    const QStringList order{QStringLiteral("code"), QStringLiteral("math"), QStringLiteral("english-prose"),
                            QStringLiteral("chinese-prose"), QStringLiteral("dialogue")};
    QStringList files = QDir(QStringLiteral(":/corpora")).entryList({QStringLiteral("*.txt")}, QDir::Files, QDir::Name);
    std::stable_sort(files.begin(), files.end(), [&](const QString& a, const QString& b) {
        auto rank = [&](const QString& f) {
            const int i = order.indexOf(QFileInfo(f).completeBaseName());
            return i < 0 ? int(order.size()) : i;
        };
        return rank(a) < rank(b);
    });
    QVector<DomainCorpus> domains;
    for (const QString& file : files) {
        const QString path = QStringLiteral(":/corpora/") + file;
        QString text, error;
        if (!readTextFile(path, &text, &error)) {
            qWarning("%s", qPrintable(error));
            continue;
        }
        domains << DomainCorpus{QFileInfo(file).completeBaseName(), {path}, {text}};
    }
    return domains;
}

}  // namespace moe::ui
