// The messages of the open conversation, top to bottom, following a ChatSession. Keeps the view
// pinned to the bottom while a reply streams unless the user scrolled up to read.
#pragma once

#include <QScrollArea>
#include <QVector>

namespace moe::ui {

class ChatSession;
class MessageWidget;

class ConversationView : public QScrollArea {
    Q_OBJECT
public:
    explicit ConversationView(ChatSession* session, QWidget* parent = nullptr);

    int messageCount() const { return int(widgets_.size()); }
    MessageWidget* messageWidget(int index) const { return widgets_.value(index); }

signals:
    void tokenClicked(int message_index, int token_index);

private:
    void rebuild();
    void append(int index);
    void update(int index);
    void scrollToEndIfPinned();
    MessageWidget* makeWidget(int index);
    bool isLastReply(int index) const;

    ChatSession* session_;
    QWidget* content_;
    QVector<MessageWidget*> widgets_;
    bool pinned_ = true;
};

}  // namespace moe::ui
