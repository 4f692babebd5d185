#include "sse_parser.h"

namespace moe::ui {

QList<QByteArray> SseParser::feed(const QByteArray& bytes) {
    QList<QByteArray> out;
    qsizetype i = 0;
    if (skip_next_lf_ && !bytes.isEmpty() && bytes[0] == '\n') i = 1;
    skip_next_lf_ = false;
    while (i < bytes.size()) {
        // Lines end in "\r\n", "\n" or "\r" (the spec allows all three).
        qsizetype end = i;
        while (end < bytes.size() && bytes[end] != '\n' && bytes[end] != '\r') ++end;
        line_.append(bytes.constData() + i, end - i);
        if (end == bytes.size()) break;  // the line continues in the next chunk
        const bool cr = bytes[end] == '\r';
        i = end + 1;
        if (cr) {
            if (i < bytes.size() && bytes[i] == '\n') ++i;
            else if (i == bytes.size()) skip_next_lf_ = true;
        }
        take_line(std::move(line_), out);
        line_.clear();
    }
    return out;
}

QList<QByteArray> SseParser::finish() {
    QList<QByteArray> out;
    if (!line_.isEmpty()) take_line(std::move(line_), out);
    if (has_data_) out.append(data_);
    *this = SseParser{};
    return out;
}

void SseParser::take_line(QByteArray line, QList<QByteArray>& out) {
    if (line.isEmpty()) {  // blank line: dispatch
        if (has_data_) out.append(data_);
        data_.clear();
        has_data_ = false;
        return;
    }
    if (line.startsWith(':')) return;  // comment (keep-alive)
    const qsizetype colon = line.indexOf(':');
    const QByteArray field = colon < 0 ? line : line.left(colon);
    if (field != "data") return;
    QByteArray value = colon < 0 ? QByteArray() : line.mid(colon + 1);
    if (value.startsWith(' ')) value.remove(0, 1);
    if (has_data_) data_.append('\n');
    data_.append(value);
    has_data_ = true;
}

}  // namespace moe::ui
