#include "conversation_view.h"

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
}

void ConversationView::append(int index) {
    while (widgets_.size() <= index) widgets_.append(makeWidget(int(widgets_.size())));
    if (index > 0) update(index - 1);
    pinned_ = true;
}

void ConversationView::update(int index) {
    if (index < 0 || index >= widgets_.size() || index >= session_->messages().size()) return;
    widgets_[index]->setMessage(session_->messages()[index], index == session_->replyIndex(), isLastReply(index));
}

void ConversationView::scrollToEndIfPinned() {
    if (pinned_) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

}  // namespace moe::ui
