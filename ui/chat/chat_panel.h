// The chat panel: conversation list, the open conversation, the message box with Send / Stop, the
// system prompt, sampling controls and which model (and so which chat template: the server applies
// the model's own) answers. Clicking a token of a reply (Tokens view) emits tokenClicked with the
// reply's routing for the token routing explorer.
#pragma once

#include <QJsonArray>
#include <QWidget>

#include "engine_client.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace moe::ui {

class ChatSession;
class ConversationSidebar;
class ConversationStore;
class ConversationView;
class SamplingControls;

class ChatPanel : public QWidget {
    Q_OBJECT
public:
    ChatPanel(EngineClient* client, ConversationStore* store, QWidget* parent = nullptr);

    ChatSession* session() const { return session_; }
    ConversationView* view() const { return view_; }
    ConversationSidebar* sidebar() const { return sidebar_; }
    SamplingControls* sampling() const { return sampling_; }
    QString modelText() const;

    // Sends text as the user (what the Send button does).
    void sendMessage(const QString& text);
    // Puts the keyboard in the message box (a first launch starts there).
    void focusInput();
    QString inputText() const;
    // The engine died mid-reply: keep the conversation, mark the interrupted reply.
    void engineLost(const QString& reason);

signals:
    // routing row of completion token i = prompt_tokens + i - routing.start_len; the last token has
    // none. model: the model that wrote the reply (the explorer says so when another is loaded now).
    void tokenClicked(const moe::ui::RoutedExperts& routing, const QVector<moe::ui::CompletionToken>& tokens,
                      int token_index, int prompt_tokens, const QString& model);

private:
    QWidget* buildConversationColumn();
    QWidget* buildSettingsColumn();
    void onModels(const QJsonArray& models);
    void onTokenClicked(int message_index, int token_index);
    void openConversation(qint64 id);
    void sendFromInput();
    void updateBusy(bool busy);

    EngineClient* client_;
    ConversationStore* store_;
    ChatSession* session_;
    ConversationSidebar* sidebar_;
    ConversationView* view_;
    SamplingControls* sampling_;
    QLabel* model_label_;
    QLabel* notice_;
    QPlainTextEdit* system_prompt_;
    QPlainTextEdit* input_;
    QPushButton* send_;
    QPushButton* stop_;
};

}  // namespace moe::ui
