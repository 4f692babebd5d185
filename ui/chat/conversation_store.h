// Conversations persisted in SQLite through Qt SQL (driver QSQLITE), WAL journal, every write in a
// transaction. A database that cannot be opened or migrated is reported by openError() and the store
// keeps working in memory (":memory:"), so the chat stays usable; nothing is written to disk then.
#pragma once

#include <QString>
#include <QVector>

#include <optional>

#include "chat_message.h"

class QSqlDatabase;

namespace moe::ui {

struct ConversationSummary {
    qint64 id = -1;
    QString title;
    QString system_prompt;
    qint64 updated_at_ms = 0;
    int message_count = 0;
    bool speculative = false;  // decode this conversation's replies with the model's MTP modules
};

class ConversationStore {
public:
    // path: the database file (its folder is created); use defaultPath() for the app's own.
    explicit ConversationStore(const QString& path);
    ~ConversationStore();
    ConversationStore(const ConversationStore&) = delete;
    ConversationStore& operator=(const ConversationStore&) = delete;

    // <QStandardPaths::AppDataLocation>/conversations.sqlite
    static QString defaultPath();

    bool isPersistent() const { return open_error_.isEmpty(); }
    QString openError() const { return open_error_; }  // names the file and what is wrong
    QString lastError() const { return last_error_; }  // of the last failed call
    QString path() const { return path_; }

    // Newest first. search (case-insensitive) matches titles and message text; "" lists all.
    QVector<ConversationSummary> conversations(const QString& search = {}) const;
    std::optional<ConversationSummary> conversation(qint64 id) const;
    QVector<ChatMessage> messages(qint64 conversation_id) const;

    qint64 createConversation(const QString& title, const QString& system_prompt,
                              bool speculative = false);  // -1 on failure
    bool renameConversation(qint64 id, const QString& title);
    bool setSystemPrompt(qint64 id, const QString& system_prompt);
    // A setting, not an edit: the conversation keeps its place in the list (updated_at unchanged).
    bool setSpeculative(qint64 id, bool on);
    bool deleteConversation(qint64 id);
    // Replaces the conversation's messages with these, all or nothing.
    bool saveMessages(qint64 conversation_id, const QVector<ChatMessage>& messages);

private:
    QSqlDatabase db() const;
    bool openAt(const QString& path);
    bool fail(const QString& what) const;
    bool updateConversation(qint64 id, const QString& column, const QString& value);

    QString connection_;
    QString path_;
    QString open_error_;
    mutable QString last_error_;
};

}  // namespace moe::ui
