#include "conversation_view.h"

#include <QLabel>
#include <QPushButton>
#include <QScrollBar>
#include <QTimer>
#include <QVBoxLayout>

#include "chat_session.h"
#include "message_widget.h"

namespace moe::ui {

ConversationView::ConversationView(ChatSession* session, QWidget* parent) : QScrollArea(parent), session_(session) {
    setObjectName(QStringLiteral("conversationView"));
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // messages wrap to the width instead
    content_ = new QWidget(this);
    auto* layout = new QVBoxLayout(content_);
    layout->setSpacing(8);
    layout->addWidget(buildWelcome());
    layout->addStretch();  // messages are inserted above it
    setWidget(content_);

    QScrollBar* bar = verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) { pinned_ = value >= bar->maximum() - 4; });
    connect(bar, &QScrollBar::rangeChanged, this, [this] { scrollToEndIfPinned(); });
    connect(session_, &ChatSession::messagesReset, this, &ConversationView::rebuild);
    connect(session_, &ChatSession::messageAppended, this, &ConversationView::append);
    connect(session_, &ChatSession::messageChanged, this, &ConversationView::update);
    connect(session_, &ChatSession::busyChanged, this, [this] {
        for (int i = 0; i < widgets_.size(); ++i) update(i);  // Regenerate moves to the new last reply
    });
}

// One start per kind of text the demo model was trained on (it continues text; it is not a chatbot):
// sending each and watching Expert load shows its experts specialising by domain.
QStringList ConversationView::suggestions() {
    return {tr("def parse_config(path):"), tr("It was a fine morning in the village when"),
            tr("Let p be a prime number. Then"), QStringLiteral("在设置窗口中，您可以")};
}

QWidget* ConversationView::buildWelcome() {
    welcome_ = new QWidget(content_);
    welcome_->setObjectName(QStringLiteral("chatWelcome"));
    auto* text = new QLabel(
        tr("<h3>Start here</h3>"
           "<p>Type a message in the box below and press <b>Ctrl+Enter</b> (or Send).</p>"
           "<p>While the model answers, <b>Expert load</b> on the right lights up the experts that every layer "
           "picks for each token. When the reply is done, press <b>Tokens</b> on it and click any token to see "
           "its experts layer by layer.</p><p>Or start with one of these:</p>"),
        welcome_);
    text->setWordWrap(true);
    text->setTextFormat(Qt::RichText);
    auto* layout = new QVBoxLayout(welcome_);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(text);
    for (const QString& suggestion : suggestions()) {
        auto* button = new QPushButton(suggestion, welcome_);
        button->setObjectName(QStringLiteral("chatSuggestion"));
        button->setStyleSheet(QStringLiteral("text-align: left; padding: 4px 10px;"));
        connect(button, &QPushButton::clicked, this, [this, suggestion] { emit suggestionChosen(suggestion); });
        layout->addWidget(button);
    }
    return welcome_;
}

void ConversationView::updateWelcome() { welcome_->setVisible(widgets_.isEmpty()); }

bool ConversationView::isLastReply(int index) const {
    const auto& messages = session_->messages();
    return index == messages.size() - 1 && !messages[index].isUser();
}

MessageWidget* ConversationView::makeWidget(int index) {
    auto* w = new MessageWidget(content_);
    connect(w, &MessageWidget::editSubmitted, this,
            [this, w](const QString& text) { session_->editAndResend(int(widgets_.indexOf(w)), text); });
    connect(w, &MessageWidget::regenerateRequested, session_, &ChatSession::regenerate);
    connect(w, &MessageWidget::tokenClicked, this,
            [this, w](int token) { emit tokenClicked(int(widgets_.indexOf(w)), token); });
    auto* layout = static_cast<QVBoxLayout*>(content_->layout());
    layout->insertWidget(layout->count() - 1, w);  // above the stretch
    w->setMessage(session_->messages()[index], index == session_->replyIndex(), isLastReply(index));
    return w;
}

void ConversationView::rebuild() {
    qDeleteAll(widgets_);
    widgets_.clear();
    for (int i = 0; i < session_->messages().size(); ++i) widgets_.append(makeWidget(i));
    pinned_ = true;
    updateWelcome();
}

void ConversationView::append(int index) {
    while (widgets_.size() <= index) widgets_.append(makeWidget(int(widgets_.size())));
    if (index > 0) update(index - 1);
    pinned_ = true;
    updateWelcome();
}

void ConversationView::update(int index) {
    if (index < 0 || index >= widgets_.size() || index >= session_->messages().size()) return;
    widgets_[index]->setMessage(session_->messages()[index], index == session_->replyIndex(), isLastReply(index));
}

void ConversationView::scrollToEndIfPinned() {
    if (pinned_) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

}  // namespace moe::ui
