#include "message_widget.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

#include "code_block_widget.h"
#include "error_notice.h"
#include "markdown_blocks.h"
#include "prose_view.h"
#include "token_markup.h"

namespace moe::ui {

namespace {

QToolButton* actionButton(const QString& name, const QString& text, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setObjectName(name);
    b->setText(text);
    b->setAutoRaise(true);
    return b;
}

// Why a reply ended, as a reader would say it (the API's finish_reason is kept in the message).
QString finishText(const QString& reason) {
    if (reason == QLatin1String("stop")) return QObject::tr("finished");
    if (reason == QLatin1String("length")) return QObject::tr("stopped at the reply length limit");
    if (reason == QLatin1String("cancelled")) return QObject::tr("stopped by you");
    if (reason == QLatin1String("interrupted")) return QObject::tr("interrupted");
    return reason;
}

}  // namespace

MessageWidget::MessageWidget(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("messageWidget"));
    setFrameShape(QFrame::StyledPanel);
    render_timer_.setSingleShot(true);
    render_timer_.setInterval(33);  // ~30 Hz while streaming
    connect(&render_timer_, &QTimer::timeout, this, &MessageWidget::render);

    layout_ = new QVBoxLayout(this);
    layout_->setContentsMargins(8, 6, 8, 6);
    layout_->setSpacing(4);
    buildHeader();
    buildReasoning();
    body_layout_ = new QVBoxLayout;
    body_layout_->setSpacing(4);
    layout_->addLayout(body_layout_);
    token_view_ = new ProseView(this);
    token_view_->setObjectName(QStringLiteral("tokenView"));
    token_view_->setOpenLinks(false);  // anchors are token indices, handled below
    token_view_->hide();
    connect(token_view_, &QTextBrowser::anchorClicked, this,
            [this](const QUrl& anchor) { activateToken(tokenIndexFromAnchor(anchor.toString())); });
    layout_->addWidget(token_view_);
    buildEditor();
    buildFooter();
}

void MessageWidget::buildHeader() {
    header_ = new QLabel(this);
    header_->setStyleSheet(QStringLiteral("font-weight: bold;"));
    header_->setWordWrap(true);  // a long model name wraps rather than pushing the buttons out of a narrow chat
    edit_ = actionButton(QStringLiteral("editButton"), tr("Edit"), this);
    tokens_ = actionButton(QStringLiteral("tokensButton"), tr("Tokens"), this);
    tokens_->setCheckable(true);
    tokens_->setToolTip(tr("Show the reply as its tokens; click one to see its experts in every layer. In a reply written "
                          "with speculative decoding, the tokens drafted ahead and kept are green."));
    regenerate_ = actionButton(QStringLiteral("regenerateButton"), tr("Regenerate"), this);
    copy_ = actionButton(QStringLiteral("copyButton"), tr("Copy"), this);
    connect(edit_, &QToolButton::clicked, this, [this] {
        editor_->setPlainText(message_.content);
        editor_box_->show();
        editor_->setFocus();
    });
    connect(tokens_, &QToolButton::toggled, this, &MessageWidget::showTokens);
    connect(regenerate_, &QToolButton::clicked, this, &MessageWidget::regenerateRequested);
    connect(copy_, &QToolButton::clicked, this, [this] { QGuiApplication::clipboard()->setText(message_.content); });
    auto* row = new QHBoxLayout;
    row->addWidget(header_);
    row->addStretch();
    for (QToolButton* b : {edit_, tokens_, regenerate_, copy_}) row->addWidget(b);
    layout_->addLayout(row);
}

void MessageWidget::buildReasoning() {
    reasoning_toggle_ = actionButton(QStringLiteral("reasoningToggle"), QString(), this);
    reasoning_toggle_->setCheckable(true);
    reasoning_toggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    reasoning_toggle_->setArrowType(Qt::RightArrow);
    reasoning_ = new ProseView(this);
    reasoning_->setObjectName(QStringLiteral("reasoningText"));
    reasoning_->setStyleSheet(
        QStringLiteral("QTextBrowser { background: transparent; color: palette(dark); font-style: italic; }"));
    reasoning_->setContentsMargins(12, 0, 0, 0);
    reasoning_->hide();
    connect(reasoning_toggle_, &QToolButton::toggled, this, [this](bool open) {
        reasoning_toggle_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        reasoning_->setVisible(open);
    });
    layout_->addWidget(reasoning_toggle_);
    layout_->addWidget(reasoning_);
}

void MessageWidget::buildEditor() {
    editor_box_ = new QWidget(this);
    editor_ = new QPlainTextEdit(editor_box_);
    editor_->setObjectName(QStringLiteral("messageEditor"));
    editor_->setMaximumHeight(120);
    auto* send = new QPushButton(tr("Send"), editor_box_);
    send->setObjectName(QStringLiteral("editSendButton"));
    auto* cancel = new QPushButton(tr("Cancel"), editor_box_);
    connect(send, &QPushButton::clicked, this, [this] {
        editor_box_->hide();
        emit editSubmitted(editor_->toPlainText());
    });
    connect(cancel, &QPushButton::clicked, editor_box_, &QWidget::hide);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    buttons->addWidget(cancel);
    buttons->addWidget(send);
    auto* box = new QVBoxLayout(editor_box_);
    box->setContentsMargins(0, 0, 0, 0);
    box->addWidget(editor_);
    box->addLayout(buttons);
    editor_box_->hide();
    layout_->addWidget(editor_box_);
}

void MessageWidget::buildFooter() {
    stats_ = new QLabel(this);
    stats_->setObjectName(QStringLiteral("messageStats"));
    stats_->setWordWrap(true);  // a narrow chat must not push the message past its right edge
    stats_->setStyleSheet(QStringLiteral("color: palette(mid); font-size: small;"));
    error_ = new ErrorNotice(this);
    error_->setObjectName(QStringLiteral("messageError"));
    retry_ = actionButton(QStringLiteral("retryButton"), tr("Retry"), this);
    connect(retry_, &QToolButton::clicked, this, &MessageWidget::regenerateRequested);
    auto* error_row = new QHBoxLayout;
    error_row->addWidget(error_, 1);
    error_row->addWidget(retry_);
    layout_->addLayout(error_row);
    layout_->addWidget(stats_);
}

void MessageWidget::setMessage(const ChatMessage& message, bool streaming, bool last_reply) {
    message_ = message;
    streaming_ = streaming;
    last_reply_ = last_reply;
    if (streaming) {
        if (!render_timer_.isActive()) render_timer_.start();
    } else {
        render_timer_.stop();
        render();
    }
}

void MessageWidget::render() {
    const bool user = message_.isUser();
    header_->setText(user ? tr("You")
                          : message_.model.isEmpty() ? tr("Assistant") : tr("Assistant · %1").arg(message_.model));
    const QString style = user ? QStringLiteral("#messageWidget { background: palette(base); }") : QString();
    if (styleSheet() != style) setStyleSheet(style);  // re-polishing every child is not free
    edit_->setVisible(user);
    regenerate_->setVisible(!user && last_reply_ && !streaming_);
    copy_->setVisible(!user && !message_.content.isEmpty());
    tokens_->setVisible(!user && !message_.tokens.isEmpty() && !streaming_);
    renderReasoning();
    if (tokens_->isChecked() && !message_.tokens.isEmpty()) token_view_->setHtml(tokenViewMarkup(message_.tokens, selected_token_));
    renderBody();
    renderFooter();
}

void MessageWidget::renderReasoning() {
    const bool has = !message_.reasoning.isEmpty();
    reasoning_toggle_->setVisible(has);
    if (!has) return;
    const bool thinking = streaming_ && message_.content.isEmpty();
    reasoning_toggle_->setText(thinking ? tr("Thinking… (%1 characters)").arg(message_.reasoning.size())
                                        : tr("Reasoning (%1 characters)").arg(message_.reasoning.size()));
    if (reasoning_->toPlainText() != message_.reasoning) reasoning_->setPlainText(message_.reasoning);
}

QWidget* MessageWidget::blockWidget(int index, bool code) {
    if (index < blocks_.size()) {
        QWidget* w = blocks_[index];
        if (bool(qobject_cast<CodeBlockWidget*>(w)) == code) return w;
        // The kind changed (a fence opened mid-stream): rebuild from here.
        while (blocks_.size() > index) delete blocks_.takeLast();
        block_plain_.resize(index);
    }
    QWidget* w = code ? static_cast<QWidget*>(new CodeBlockWidget(this)) : new ProseView(this);
    body_layout_->addWidget(w);
    blocks_.append(w);
    block_plain_.append(QString());
    return w;
}

void MessageWidget::renderBody() {
    const QVector<MarkdownBlock> parsed = splitMarkdownBlocks(message_.content);
    for (int i = 0; i < parsed.size(); ++i) {
        const MarkdownBlock& b = parsed[i];
        QWidget* w = blockWidget(i, b.kind == MarkdownBlock::Kind::Code);
        if (auto* code = qobject_cast<CodeBlockWidget*>(w)) {
            code->setCode(b.text, b.language);
            block_plain_[i] = b.text;
            continue;
        }
        auto* prose = static_cast<ProseView*>(w);
        if (prose->property("markdown").toString() != b.text) {  // unchanged blocks keep their layout
            prose->setMarkdown(b.text);
            prose->setProperty("markdown", b.text);
        }
        block_plain_[i] = prose->toPlainText();
    }
    while (blocks_.size() > parsed.size()) delete blocks_.takeLast();
    block_plain_.resize(parsed.size());
    const bool tokens = tokens_->isChecked() && !message_.tokens.isEmpty();
    for (QWidget* w : blocks_) w->setVisible(!tokens);
    token_view_->setVisible(tokens);
}

void MessageWidget::renderFooter() {
    stats_->setText(statsText());
    stats_->setVisible(!message_.isUser() && !stats_->text().isEmpty());
    // The stored error is the technical text (kept for bug reports); the reader gets plain words.
    if (message_.error.isEmpty()) error_->clear();
    else if (error_->detail() != message_.error.trimmed()) error_->showError(message_.error);
    retry_->setVisible(!message_.error.isEmpty() && last_reply_);
}

QString MessageWidget::bodyText() const { return block_plain_.join(QLatin1Char('\n')); }

QString MessageWidget::statsText() const {
    if (message_.isUser()) return {};
    if (streaming_) return tr("generating…");
    QStringList parts;
    if (message_.time_to_first_token_ms >= 0)
        parts << tr("first token after %1 ms")
                     .arg(message_.time_to_first_token_ms, 0, 'f', message_.time_to_first_token_ms < 10 ? 1 : 0);
    if (message_.tokens_per_second >= 0) parts << tr("%1 tokens/s").arg(message_.tokens_per_second, 0, 'f', 1);
    if (message_.completion_tokens > 0)
        parts << (message_.completion_tokens == 1 ? tr("1 token") : tr("%1 tokens").arg(message_.completion_tokens));
    if (const int drafted = draftedTokenCount(message_.tokens); drafted > 0)
        parts << tr("%1 drafted ahead and kept (speculative decoding)").arg(drafted);
    if (!message_.finish_reason.isEmpty()) parts << finishText(message_.finish_reason);
    return parts.join(QStringLiteral(" · "));
}

void MessageWidget::showTokens(bool on) {
    if (tokens_->isChecked() != on) tokens_->setChecked(on);  // re-enters through toggled
    else render();
}

void MessageWidget::activateToken(int index) {
    if (index < 0 || index >= message_.tokens.size()) return;
    selected_token_ = index;
    token_view_->setHtml(tokenViewMarkup(message_.tokens, selected_token_));
    emit tokenClicked(index);
}

}  // namespace moe::ui
