#include "markdown_blocks.h"

#include <QStringList>

namespace moe::ui {

namespace {

// A fence line: up to 3 spaces, then 3+ backticks or tildes (CommonMark). Returns the fence
// (e.g. "````") or "" when the line is not one.
QString fenceOf(const QString& line) {
    int i = 0;
    while (i < line.size() && i < 3 && line[i] == QLatin1Char(' ')) ++i;
    if (i >= line.size() || (line[i] != QLatin1Char('`') && line[i] != QLatin1Char('~'))) return {};
    const QChar c = line[i];
    int n = 0;
    while (i + n < line.size() && line[i + n] == c) ++n;
    return n >= 3 ? QString(n, c) : QString();
}

void appendProse(QVector<MarkdownBlock>& blocks, const QString& line) {
    if (blocks.isEmpty() || blocks.last().kind != MarkdownBlock::Kind::Prose) blocks.append(MarkdownBlock{});
    MarkdownBlock& b = blocks.last();
    if (!b.text.isEmpty()) b.text += QLatin1Char('\n');
    b.text += line;
}

}  // namespace

QVector<MarkdownBlock> splitMarkdownBlocks(const QString& markdown) {
    QVector<MarkdownBlock> blocks;
    QString open_fence;      // non-empty while inside a code block
    QStringList code_lines;  // of the open code block
    const QStringList lines = markdown.split(QLatin1Char('\n'));
    for (const QString& line : lines) {
        const QString fence = fenceOf(line);
        if (open_fence.isEmpty() && !fence.isEmpty()) {
            open_fence = fence;
            code_lines.clear();
            MarkdownBlock code{MarkdownBlock::Kind::Code, QString(), line.trimmed().mid(fence.size()).trimmed(), false};
            blocks.append(code);
            continue;
        }
        if (!open_fence.isEmpty()) {
            // Closing fence: same character, at least as long, nothing after it.
            if (!fence.isEmpty() && fence[0] == open_fence[0] && fence.size() >= open_fence.size() &&
                line.trimmed() == fence) {
                blocks.last().closed = true;
                open_fence.clear();
                continue;
            }
            code_lines.append(line);
            blocks.last().text = code_lines.join(QLatin1Char('\n'));
            continue;
        }
        appendProse(blocks, line);
    }
    // Prose made only of blank lines (between two code blocks) renders as nothing: drop it.
    blocks.removeIf([](const MarkdownBlock& b) { return b.kind == MarkdownBlock::Kind::Prose && b.text.trimmed().isEmpty(); });
    return blocks;
}

}  // namespace moe::ui
