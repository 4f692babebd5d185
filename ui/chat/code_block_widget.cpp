#include "code_block_widget.h"

#include <QClipboard>
#include <QFontDatabase>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QTextBlock>
#include <QToolButton>
#include <QVBoxLayout>

namespace moe::ui {

namespace {
constexpr int kMaxVisibleLines = 30;  // longer code scrolls inside its box
}

CodeBlockWidget::CodeBlockWidget(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("codeBlock"));
    setFrameShape(QFrame::StyledPanel);
    setStyleSheet(QStringLiteral("#codeBlock { background: palette(alternate-base); border-radius: 4px; }"));
    language_ = new QLabel(this);
    language_->setStyleSheet(QStringLiteral("color: palette(mid); font-size: small;"));
    auto* copy = new QToolButton(this);
    copy->setObjectName(QStringLiteral("copyCodeButton"));
    copy->setText(tr("Copy"));
    copy->setAutoRaise(true);
    connect(copy, &QToolButton::clicked, this, [this] { QGuiApplication::clipboard()->setText(code()); });

    editor_ = new QPlainTextEdit(this);
    editor_->setReadOnly(true);
    editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
    editor_->setFrameShape(QFrame::NoFrame);
    editor_->setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);

    auto* header = new QHBoxLayout;
    header->addWidget(language_);
    header->addStretch();
    header->addWidget(copy);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 2, 6, 6);
    layout->setSpacing(2);
    layout->addLayout(header);
    layout->addWidget(editor_);
}

void CodeBlockWidget::setCode(const QString& code, const QString& language) {
    language_->setText(language.isEmpty() ? tr("code") : language);
    if (editor_->toPlainText() != code) editor_->setPlainText(code);
    fitHeight();
}

QString CodeBlockWidget::code() const { return editor_->toPlainText(); }

void CodeBlockWidget::fitHeight() {
    const int lines = std::min(editor_->document()->blockCount(), kMaxVisibleLines);
    const int line_height = editor_->fontMetrics().lineSpacing();
    const int scrollbar = editor_->horizontalScrollBar()->sizeHint().height();
    editor_->setFixedHeight(lines * line_height + 2 * int(editor_->document()->documentMargin()) + scrollbar);
}

}  // namespace moe::ui
