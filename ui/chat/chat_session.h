// One conversation's state and its traffic with the engine: the messages, the reply being streamed,
// stop / regenerate / edit-and-resend, and saving to the ConversationStore at every message boundary
// (never per streamed token). No widgets: the chat panel's views observe the signals.
#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QVector>

#include "chat_message.h"

namespace moe::ui {

class ConversationStore;

class ChatSession : public QObject {
    Q_OBJECT
public:
    ChatSession(EngineClient* client, ConversationStore* store, QObject* parent = nullptr);

    const QVector<ChatMessage>& messages() const { return messages_; }
    qint64 conversationId() const { return conversation_id_; }  // -1 until the first message is saved
    bool isBusy() const { return request_ != 0; }
    int replyIndex() const { return reply_index_; }  // the message being streamed, -1 if none

    QString systemPrompt() const { return system_prompt_; }
    void setSystemPrompt(const QString& text);
    // Speculative decoding for this conversation: saved with it, restored when it is opened; a new
    // conversation starts with the last one's choice.
    bool speculative() const { return speculative_; }
    void setSpeculative(bool on);
    // Sampling fields (temperature, top_p, ..., return_routed_experts) merged into every request.
    void setRequestOptions(const QJsonObject& options) { options_ = options; }
    // The id sent as "model" (OpenAI-compatible servers other than ours require it); "" omits it.
    void setModel(const QString& model_id) { model_ = model_id; }

    void newConversation();
    bool openConversation(qint64 id);

    void send(const QString& text);
    void stop();
    void regenerate();  // replaces the last reply (also the Retry of a failed one)
    void editAndResend(int index, const QString& text);  // index: a user message; later ones are dropped
    // The engine went away mid-reply (crash): the partial reply is kept and marked interrupted.
    void engineLost(const QString& reason);

signals:
    void messagesReset();
    void messageAppended(int index);
    void messageChanged(int index);
    void busyChanged(bool busy);
    void conversationSaved(qint64 id);
    void storeError(const QString& message);

private:
    void onDelta(quint64 id, const QString& content, const QString& reasoning);
    void onFinished(quint64 id, const moe::ui::CompletionResult& result);
    void onRoutedExperts(quint64 id, const moe::ui::RoutedExperts& routing);
    void onRequestFailed(quint64 id, const QString& message);

    QJsonObject buildRequest() const;
    void startReply();
    void abandonRequest();  // forget the running request without waiting for its end
    void endReply();
    void save();

    EngineClient* client_;
    ConversationStore* store_;
    QVector<ChatMessage> messages_;
    qint64 conversation_id_ = -1;
    QString system_prompt_;
    bool speculative_ = false;
    QJsonObject options_;
    QString model_;
    quint64 request_ = 0;
    int reply_index_ = -1;
    // The last reply whose request failed, and when: a crash reported soon after explains it.
    static constexpr qint64 kCrashAttributionMs = 5'000;
    int failed_reply_ = -1;
    QElapsedTimer failed_at_;
};

}  // namespace moe::ui
