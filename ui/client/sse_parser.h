// Incremental parser for server-sent events (text/event-stream, WHATWG "event stream
// interpretation"), as OpenAI-style servers stream completions: bytes arrive in chunks split
// anywhere (inside a line, inside a UTF-8 sequence, between "\r" and "\n"); an event is its "data:"
// lines joined by "\n" and ends at a blank line. Comment lines (": keep-alive") and other fields
// (event:, id:, retry:) are skipped: the engines we talk to put everything in data.
#pragma once

#include <QByteArray>
#include <QList>

namespace moe::ui {

class SseParser {
public:
    // Appends bytes and returns the data of every event completed by them, in order.
    // "[DONE]" comes back as an ordinary event; the caller decides what it means.
    QList<QByteArray> feed(const QByteArray& bytes);
    // The stream ended: an event whose blank line never came is returned (servers that close
    // right after their last data line), and the parser is reset.
    QList<QByteArray> finish();
    // Bytes held back waiting for the end of a line (for limits on runaway lines).
    qsizetype pendingBytes() const { return line_.size() + data_.size(); }

private:
    void take_line(QByteArray line, QList<QByteArray>& out);

    QByteArray line_;           // the incomplete current line
    QByteArray data_;           // data of the event being built
    bool has_data_ = false;     // a data: line was seen (an event may carry empty data)
    bool skip_next_lf_ = false; // the last chunk ended in "\r": a leading "\n" belongs to it
};

}  // namespace moe::ui
