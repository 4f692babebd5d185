// The messages of the open conversation, top to bottom, following a ChatSession. Keeps the view
// pinned to the bottom while a reply streams unless the user scrolled up to read. An empty
// conversation shows where to start instead: what to type, what to watch while the model answers,
// and a few first messages to try (suggestionChosen puts one in the message box).
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
    QWidget* welcome() const { return welcome_; }  // shown while the conversation is empty

    static QStringList suggestions();  // first messages offered to a newcomer

signals:
    void tokenClicked(int message_index, int token_index);
    void suggestionChosen(const QString& text);

private:
    void rebuild();
    void append(int index);
    void update(int index);
    void scrollToEndIfPinned();
    MessageWidget* makeWidget(int index);
    bool isLastReply(int index) const;
    QWidget* buildWelcome();
    void updateWelcome();

    ChatSession* session_;
    QWidget* content_;
    QWidget* welcome_ = nullptr;
    QVector<MessageWidget*> widgets_;
    bool pinned_ = true;
};

}  // namespace moe::ui
