// Splits markdown into prose and fenced code blocks, so prose goes through QTextDocument's markdown
// renderer and each code block gets its own monospace box with a Copy button. A fence that is not
// closed yet (a reply still streaming) runs to the end of the text.
#pragma once

#include <QString>
#include <QVector>

namespace moe::ui {

struct MarkdownBlock {
    enum class Kind { Prose, Code };
    Kind kind = Kind::Prose;
    QString text;      // prose markdown, or the code without its fences
    QString language;  // the fence's info string ("cpp", "python"), code only
    bool closed = true;
};

QVector<MarkdownBlock> splitMarkdownBlocks(const QString& markdown);

}  // namespace moe::ui
