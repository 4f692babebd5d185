// JsonLineBuffer: turns a child process's stdout, arriving in arbitrary chunks, into JSON objects —
// one per '\n'-terminated line (the `--json` output of moe-engine). A line split across two reads is
// kept until its end arrives; a line that is not a JSON object becomes an error entry (never
// silently dropped) and parsing goes on with the next line.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

namespace moe::ui::models {

struct JsonLine {
    QJsonObject object;  // valid when error is empty
    QString error;       // why the line was rejected (names the offending text)
};

class JsonLineBuffer {
public:
    // A line longer than this is an error (a broken child must not grow our memory without bound).
    static constexpr qsizetype kMaxLineBytes = 8 * 1024 * 1024;

    // Appends a chunk; returns the lines it completed, in order.
    QList<JsonLine> feed(const QByteArray& chunk);
    // End of stream: an unterminated last line is parsed too.
    QList<JsonLine> finish();
    qsizetype pendingBytes() const { return pending_.size(); }

private:
    static void parseLine(QByteArray line, QList<JsonLine>& out);

    QByteArray pending_;
    bool discarding_ = false;  // inside an over-long line: skip until its '\n'
};

}  // namespace moe::ui::models
