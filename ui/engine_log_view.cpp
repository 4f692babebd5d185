#include "engine_log_view.h"

#include <QFontDatabase>

namespace moe::ui {

EngineLogView::EngineLogView(QWidget* parent) : QPlainTextEdit(parent) {
    setObjectName(QStringLiteral("engineLog"));
    setReadOnly(true);
    setMaximumBlockCount(kMaxLines);
    setLineWrapMode(QPlainTextEdit::NoWrap);
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
}

void EngineLogView::appendLine(const QString& line) { appendPlainText(line); }

}  // namespace moe::ui
