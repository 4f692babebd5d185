#include "models/json_lines.h"

#include <QJsonDocument>
#include <QJsonParseError>

namespace moe::ui::models {

namespace {

QString excerpt(const QByteArray& line) {
    constexpr qsizetype kShown = 80;
    QString text = QString::fromUtf8(line.left(kShown));
    if (line.size() > kShown) text += QStringLiteral("…");
    return text;
}

}  // namespace

QList<JsonLine> JsonLineBuffer::feed(const QByteArray& chunk) {
    QList<JsonLine> out;
    qsizetype start = 0;
    while (start < chunk.size()) {
        const qsizetype newline = chunk.indexOf('\n', start);
        const qsizetype end = newline < 0 ? chunk.size() : newline;
        if (!discarding_) pending_.append(chunk.constData() + start, end - start);
        if (newline < 0) {
            if (pending_.size() > kMaxLineBytes) {
                out.append({{}, QStringLiteral("output line longer than %1 bytes, skipped").arg(kMaxLineBytes)});
                pending_.clear();
                discarding_ = true;
            }
            break;
        }
        if (!discarding_) parseLine(std::move(pending_), out);
        pending_.clear();
        discarding_ = false;
        start = newline + 1;
    }
    return out;
}

QList<JsonLine> JsonLineBuffer::finish() {
    QList<JsonLine> out;
    if (!discarding_) parseLine(std::move(pending_), out);
    pending_.clear();
    discarding_ = false;
    return out;
}

void JsonLineBuffer::parseLine(QByteArray line, QList<JsonLine>& out) {
    if (line.endsWith('\r')) line.chop(1);
    if (line.trimmed().isEmpty()) return;
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
    if (error.error != QJsonParseError::NoError) {
        out.append({{}, QStringLiteral("not JSON (%1 at byte %2): %3")
                            .arg(error.errorString()).arg(error.offset).arg(excerpt(line))});
    } else if (!doc.isObject()) {
        out.append({{}, QStringLiteral("JSON line is not an object: %1").arg(excerpt(line))});
    } else {
        out.append({doc.object(), {}});
    }
}

}  // namespace moe::ui::models
