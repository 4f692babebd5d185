#include "chat_session.h"

#include <QJsonArray>

#include "conversation_store.h"

namespace moe::ui {

namespace {

QString titleFrom(const QString& first_message) {
    const QString line = first_message.simplified();
    return line.size() <= 60 ? line : line.left(57) + QStringLiteral("...");
}

QJsonObject wireMessage(const QString& role, const QString& content) {
    return QJsonObject{{QStringLiteral("role"), role}, {QStringLiteral("content"), content}};
}

}  // namespace

ChatSession::ChatSession(EngineClient* client, ConversationStore* store, QObject* parent)
    : QObject(parent), client_(client), store_(store) {
    connect(client_, &EngineClient::delta, this, &ChatSession::onDelta);
    connect(client_, &EngineClient::finished, this, &ChatSession::onFinished);
    connect(client_, &EngineClient::routedExperts, this, &ChatSession::onRoutedExperts);
    connect(client_, &EngineClient::requestFailed, this, &ChatSession::onRequestFailed);
}

void ChatSession::setSystemPrompt(const QString& text) {
    if (text == system_prompt_) return;
    system_prompt_ = text;
    if (conversation_id_ >= 0 && !store_->setSystemPrompt(conversation_id_, text)) emit storeError(store_->lastError());
}

void ChatSession::setSpeculative(bool on) {
    if (on == speculative_) return;
    speculative_ = on;
    if (conversation_id_ >= 0 && !store_->setSpeculative(conversation_id_, on)) emit storeError(store_->lastError());
}

void ChatSession::newConversation() {
    abandonRequest();
    messages_.clear();
    failed_reply_ = -1;
    conversation_id_ = -1;
    emit messagesReset();
}

bool ChatSession::openConversation(qint64 id) {
    const auto summary = store_->conversation(id);
    if (!summary) return false;
    abandonRequest();
    conversation_id_ = id;
    failed_reply_ = -1;
    system_prompt_ = summary->system_prompt;
    speculative_ = summary->speculative;
    messages_ = store_->messages(id);
    emit messagesReset();
    return true;
}

void ChatSession::send(const QString& text) {
    if (text.trimmed().isEmpty()) return;
    abandonRequest();
    ChatMessage user;
    user.role = QStringLiteral("user");
    user.content = text;
    messages_.append(user);
    emit messageAppended(int(messages_.size()) - 1);
    startReply();
}

void ChatSession::stop() {
    if (request_ != 0) client_->cancel(request_);  // finished(cancelled) ends the reply
}

void ChatSession::regenerate() {
    abandonRequest();
    if (!messages_.isEmpty() && !messages_.last().isUser()) {
        messages_.removeLast();
        emit messagesReset();
    }
    if (!messages_.isEmpty()) startReply();
}

void ChatSession::editAndResend(int index, const QString& text) {
    if (index < 0 || index >= messages_.size() || !messages_[index].isUser() || text.trimmed().isEmpty()) return;
    abandonRequest();
    messages_.resize(index + 1);
    messages_[index].content = text;
    emit messagesReset();
    startReply();
}

void ChatSession::engineLost(const QString& reason) {
    int index = reply_index_;
    QString transport_error;
    if (request_ != 0) {
        abandonRequest();
    } else {
        // The dropped connection usually arrives first (requestFailed); the crash report explains it.
        const bool just_failed = failed_reply_ >= 0 && failed_reply_ < messages_.size() &&
                                 failed_at_.isValid() && failed_at_.elapsed() < kCrashAttributionMs;
        if (!just_failed) return;
        index = failed_reply_;
        transport_error = messages_[index].error;
    }
    ChatMessage& reply = messages_[index];
    reply.finish_reason = QStringLiteral("interrupted");
    reply.error = tr("Interrupted: %1. The text so far is kept; Retry asks again.").arg(reason);
    if (!transport_error.isEmpty()) reply.error += QStringLiteral(" (%1)").arg(transport_error);
    failed_reply_ = -1;
    emit messageChanged(index);
    save();
}

QJsonObject ChatSession::buildRequest() const {
    QJsonArray wire;
    if (!system_prompt_.trimmed().isEmpty()) wire.append(wireMessage(QStringLiteral("system"), system_prompt_));
    for (int i = 0; i < messages_.size(); ++i) {
        const ChatMessage& m = messages_[i];
        if (i == reply_index_) continue;
        // A failed reply with no text is not part of the dialogue; the reasoning is never sent back
        // (DeepSeek's API and R1's template drop it from history).
        if (!m.isUser() && m.content.isEmpty()) continue;
        wire.append(wireMessage(m.role, m.content));
    }
    QJsonObject body = options_;
    body.insert(QStringLiteral("messages"), wire);
    body.insert(QStringLiteral("stream_options"), QJsonObject{{QStringLiteral("include_usage"), true}});
    if (!model_.isEmpty()) body.insert(QStringLiteral("model"), model_);
    return body;
}

void ChatSession::startReply() {
    failed_reply_ = -1;
    save();  // the user's message is on disk before the engine sees it
    ChatMessage reply;
    reply.role = QStringLiteral("assistant");
    reply.model = model_;
    messages_.append(reply);
    reply_index_ = int(messages_.size()) - 1;
    request_ = client_->startChat(buildRequest());
    emit messageAppended(reply_index_);
    emit busyChanged(true);
}

void ChatSession::abandonRequest() {
    if (request_ == 0) return;
    const quint64 id = request_;
    endReply();
    client_->cancel(id);  // its finished(cancelled) no longer matches request_ and is ignored
}

void ChatSession::endReply() {
    request_ = 0;
    reply_index_ = -1;
    emit busyChanged(false);
}

void ChatSession::onDelta(quint64 id, const QString& content, const QString& reasoning) {
    if (id != request_ || id == 0) return;
    ChatMessage& reply = messages_[reply_index_];
    reply.content += content;
    reply.reasoning += reasoning;
    emit messageChanged(reply_index_);
}

void ChatSession::onRoutedExperts(quint64 id, const RoutedExperts& routing) {
    if (id != request_ || id == 0) return;
    messages_[reply_index_].routing = routing;
}

void ChatSession::onFinished(quint64 id, const CompletionResult& result) {
    if (id != request_ || id == 0) return;
    ChatMessage& reply = messages_[reply_index_];
    // The final result is authoritative; a cancelled request may carry only what streamed.
    if (!result.content.isEmpty()) reply.content = result.content;
    if (!result.reasoning.isEmpty()) reply.reasoning = result.reasoning;
    reply.finish_reason = result.finish_reason;
    reply.time_to_first_token_ms = result.time_to_first_token_ms;
    reply.tokens_per_second = result.tokens_per_second;
    reply.prompt_tokens = result.prompt_tokens;
    reply.completion_tokens = result.completion_tokens;
    reply.tokens = result.tokens;
    const int index = reply_index_;
    endReply();
    emit messageChanged(index);
    save();
}

void ChatSession::onRequestFailed(quint64 id, const QString& message) {
    if (id != request_ || id == 0) return;
    const int index = reply_index_;
    messages_[index].error = message;
    failed_reply_ = index;
    failed_at_.start();
    endReply();
    emit messageChanged(index);
    save();
}

void ChatSession::save() {
    if (conversation_id_ < 0) {
        const QString first = messages_.isEmpty() ? QString() : messages_.first().content;
        conversation_id_ = store_->createConversation(titleFrom(first), system_prompt_, speculative_);
        if (conversation_id_ < 0) {
            emit storeError(store_->lastError());
            return;
        }
    }
    if (!store_->saveMessages(conversation_id_, messages_)) emit storeError(store_->lastError());
    emit conversationSaved(conversation_id_);
}

}  // namespace moe::ui
