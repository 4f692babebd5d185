#include "conversation_store.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QUuid>
#include <QVariant>

#include "conversation_schema.h"
#include "routing_codec.h"
#include "sql_transaction.h"

namespace moe::ui {

namespace {

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

// Qt SQL binds a null QString as SQL NULL; our text columns are NOT NULL, so "" it is.
QString text(const QString& s) { return s.isNull() ? QStringLiteral("") : s; }

// LIKE pattern for a literal substring: % _ and the escape character itself are escaped.
QString likePattern(const QString& text) {
    QString escaped = text;
    escaped.replace(QLatin1Char('\\'), QStringLiteral("\\\\"))
        .replace(QLatin1Char('%'), QStringLiteral("\\%"))
        .replace(QLatin1Char('_'), QStringLiteral("\\_"));
    return QLatin1Char('%') + escaped + QLatin1Char('%');
}

ConversationSummary readSummary(const QSqlQuery& q) {
    return ConversationSummary{q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                               q.value(3).toLongLong(), q.value(4).toInt(), q.value(5).toBool()};
}

const char* const kSummaryColumns =
    "SELECT c.id, c.title, c.system_prompt, c.updated_at,"
    " (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id), c.speculative FROM conversations c ";

ChatMessage readMessage(const QSqlQuery& q) {
    ChatMessage m;
    m.role = q.value(0).toString();
    m.content = q.value(1).toString();
    m.reasoning = q.value(2).toString();
    m.model = q.value(3).toString();
    m.finish_reason = q.value(4).toString();
    m.error = q.value(5).toString();
    m.time_to_first_token_ms = q.value(6).toDouble();
    m.tokens_per_second = q.value(7).toDouble();
    m.prompt_tokens = q.value(8).toInt();
    m.completion_tokens = q.value(9).toInt();
    m.tokens = decodeTokens(q.value(10).toString());
    if (!q.value(11).isNull())
        if (auto routing = decodeRouting(q.value(11).toByteArray())) m.routing = std::move(*routing);
    return m;
}

void bindMessage(QSqlQuery& q, qint64 conversation_id, int position, const ChatMessage& m) {
    q.addBindValue(conversation_id);
    q.addBindValue(position);
    q.addBindValue(text(m.role));
    q.addBindValue(text(m.content));
    q.addBindValue(text(m.reasoning));
    q.addBindValue(text(m.model));
    q.addBindValue(text(m.finish_reason));
    q.addBindValue(text(m.error));
    q.addBindValue(m.time_to_first_token_ms);
    q.addBindValue(m.tokens_per_second);
    q.addBindValue(m.prompt_tokens);
    q.addBindValue(m.completion_tokens);
    q.addBindValue(encodeTokens(m.tokens));
    q.addBindValue(m.hasRouting() ? QVariant(encodeRouting(m.routing)) : QVariant(QMetaType(QMetaType::QByteArray)));
}

}  // namespace

ConversationStore::ConversationStore(const QString& path)
    : connection_(QStringLiteral("moe-conversations-") + QUuid::createUuid().toString(QUuid::WithoutBraces)) {
    if (openAt(path)) return;
    // Keep the chat usable: same schema, in memory, and say why nothing is saved.
    QSqlDatabase::removeDatabase(connection_);
    QString memory_error;
    if (!openAt(QStringLiteral(":memory:"))) memory_error = last_error_;
    if (!memory_error.isEmpty()) open_error_ += QStringLiteral("; the in-memory fallback failed too: ") + memory_error;
}

ConversationStore::~ConversationStore() {
    {
        QSqlDatabase database = QSqlDatabase::database(connection_, false);
        if (database.isOpen()) database.close();
    }
    QSqlDatabase::removeDatabase(connection_);
}

QString ConversationStore::defaultPath() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/conversations.sqlite");
}

bool ConversationStore::openAt(const QString& path) {
    const bool in_memory = path == QLatin1String(":memory:");
    if (!in_memory && !QDir().mkpath(QFileInfo(path).absolutePath())) {
        open_error_ = QStringLiteral("%1: cannot create its folder").arg(path);
        return false;
    }
    QSqlDatabase database = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection_);
    database.setDatabaseName(path);
    if (!database.open()) {
        open_error_ = QStringLiteral("%1: cannot open the conversation database: %2").arg(path, database.lastError().text());
        last_error_ = open_error_;
        return false;
    }
    QSqlQuery pragma(database);
    pragma.exec(QStringLiteral("PRAGMA foreign_keys = ON"));
    // WAL: readers never wait on the writer and a crash mid-write cannot corrupt earlier commits.
    if (!in_memory && !pragma.exec(QStringLiteral("PRAGMA journal_mode = WAL"))) {
        open_error_ = QStringLiteral("%1: cannot switch to WAL: %2").arg(path, pragma.lastError().text());
        last_error_ = open_error_;
        return false;
    }
    pragma.finish();  // journal_mode answers a row; an unfinished statement would block every commit
    QString error;
    if (!migrateConversationSchema(database, &error)) {
        open_error_ = error;
        last_error_ = error;
        database.close();
        return false;
    }
    path_ = path;
    return true;
}

QSqlDatabase ConversationStore::db() const { return QSqlDatabase::database(connection_, false); }

bool ConversationStore::fail(const QString& what) const {
    last_error_ = QStringLiteral("%1: %2").arg(path_, what);
    return false;
}

QVector<ConversationSummary> ConversationStore::conversations(const QString& search) const {
    QSqlQuery q(db());
    QString sql = QString::fromLatin1(kSummaryColumns);
    if (!search.trimmed().isEmpty()) {
        sql += QStringLiteral(
            "WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
            " AND (m.content LIKE ? ESCAPE '\\' OR m.reasoning LIKE ? ESCAPE '\\')) ");
    }
    sql += QStringLiteral("ORDER BY c.updated_at DESC, c.id DESC");
    q.prepare(sql);
    if (!search.trimmed().isEmpty())
        for (int i = 0; i < 3; ++i) q.addBindValue(likePattern(search.trimmed()));
    QVector<ConversationSummary> out;
    if (!q.exec()) {
        fail(QStringLiteral("listing conversations failed: ") + q.lastError().text());
        return out;
    }
    while (q.next()) out.append(readSummary(q));
    return out;
}

std::optional<ConversationSummary> ConversationStore::conversation(qint64 id) const {
    QSqlQuery q(db());
    q.prepare(QString::fromLatin1(kSummaryColumns) + QStringLiteral("WHERE c.id = ?"));
    q.addBindValue(id);
    if (q.exec() && q.next()) return readSummary(q);
    return std::nullopt;
}

QVector<ChatMessage> ConversationStore::messages(qint64 conversation_id) const {
    QSqlQuery q(db());
    q.prepare(QStringLiteral(
        "SELECT role, content, reasoning, model, finish_reason, error, ttft_ms, tokens_per_second,"
        " prompt_tokens, completion_tokens, tokens_json, routing FROM messages"
        " WHERE conversation_id = ? ORDER BY position"));
    q.addBindValue(conversation_id);
    QVector<ChatMessage> out;
    if (!q.exec()) {
        fail(QStringLiteral("reading conversation %1 failed: %2").arg(conversation_id).arg(q.lastError().text()));
        return out;
    }
    while (q.next()) out.append(readMessage(q));
    return out;
}

qint64 ConversationStore::createConversation(const QString& title, const QString& system_prompt, bool speculative) {
    SqlTransaction tx(db());
    QSqlQuery q(db());
    q.prepare(QStringLiteral("INSERT INTO conversations(title, system_prompt, speculative, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?)"));
    q.addBindValue(text(title));
    q.addBindValue(text(system_prompt));
    q.addBindValue(speculative ? 1 : 0);
    q.addBindValue(nowMs());
    q.addBindValue(nowMs());
    if (!q.exec()) {
        fail(QStringLiteral("creating a conversation failed: ") + q.lastError().text());
        return -1;
    }
    const qint64 id = q.lastInsertId().toLongLong();
    if (!tx.commit()) {
        fail(QStringLiteral("commit failed: ") + db().lastError().text());
        return -1;
    }
    return id;
}

bool ConversationStore::updateConversation(qint64 id, const QString& column, const QString& value) {
    SqlTransaction tx(db());
    QSqlQuery q(db());
    // column is one of our own constants, never user text.
    q.prepare(QStringLiteral("UPDATE conversations SET %1 = ?, updated_at = ? WHERE id = ?").arg(column));
    q.addBindValue(text(value));
    q.addBindValue(nowMs());
    q.addBindValue(id);
    if (!q.exec()) return fail(QStringLiteral("updating conversation %1 failed: %2").arg(id).arg(q.lastError().text()));
    if (q.numRowsAffected() != 1) return fail(QStringLiteral("conversation %1 does not exist").arg(id));
    return tx.commit() || fail(QStringLiteral("commit failed: ") + db().lastError().text());
}

bool ConversationStore::renameConversation(qint64 id, const QString& title) {
    return updateConversation(id, QStringLiteral("title"), title);
}

bool ConversationStore::setSystemPrompt(qint64 id, const QString& system_prompt) {
    return updateConversation(id, QStringLiteral("system_prompt"), system_prompt);
}

bool ConversationStore::setSpeculative(qint64 id, bool on) {
    SqlTransaction tx(db());
    QSqlQuery q(db());
    q.prepare(QStringLiteral("UPDATE conversations SET speculative = ? WHERE id = ?"));
    q.addBindValue(on ? 1 : 0);
    q.addBindValue(id);
    if (!q.exec()) return fail(QStringLiteral("updating conversation %1 failed: %2").arg(id).arg(q.lastError().text()));
    if (q.numRowsAffected() != 1) return fail(QStringLiteral("conversation %1 does not exist").arg(id));
    return tx.commit() || fail(QStringLiteral("commit failed: ") + db().lastError().text());
}

bool ConversationStore::deleteConversation(qint64 id) {
    SqlTransaction tx(db());
    QSqlQuery q(db());
    q.prepare(QStringLiteral("DELETE FROM conversations WHERE id = ?"));  // messages go by ON DELETE CASCADE
    q.addBindValue(id);
    if (!q.exec()) return fail(QStringLiteral("deleting conversation %1 failed: %2").arg(id).arg(q.lastError().text()));
    return tx.commit() || fail(QStringLiteral("commit failed: ") + db().lastError().text());
}

bool ConversationStore::saveMessages(qint64 conversation_id, const QVector<ChatMessage>& messages) {
    SqlTransaction tx(db());
    if (!tx.isOpen()) return fail(QStringLiteral("cannot begin a transaction: ") + db().lastError().text());
    QSqlQuery q(db());
    q.prepare(QStringLiteral("UPDATE conversations SET updated_at = ? WHERE id = ?"));
    q.addBindValue(nowMs());
    q.addBindValue(conversation_id);
    if (!q.exec() || q.numRowsAffected() != 1)
        return fail(QStringLiteral("conversation %1 does not exist").arg(conversation_id));
    q.prepare(QStringLiteral("DELETE FROM messages WHERE conversation_id = ?"));
    q.addBindValue(conversation_id);
    if (!q.exec()) return fail(QStringLiteral("clearing conversation %1 failed: %2").arg(conversation_id).arg(q.lastError().text()));
    q.prepare(QStringLiteral(
        "INSERT INTO messages(conversation_id, position, role, content, reasoning, model, finish_reason, error,"
        " ttft_ms, tokens_per_second, prompt_tokens, completion_tokens, tokens_json, routing)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    for (int i = 0; i < messages.size(); ++i) {
        bindMessage(q, conversation_id, i, messages[i]);
        if (!q.exec())
            return fail(QStringLiteral("saving message %1 of conversation %2 failed: %3")
                            .arg(i)
                            .arg(conversation_id)
                            .arg(q.lastError().text()));
    }
    return tx.commit() || fail(QStringLiteral("commit failed: ") + db().lastError().text());
}

}  // namespace moe::ui
