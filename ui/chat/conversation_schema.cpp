#include "conversation_schema.h"

#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>

#include "sql_transaction.h"

namespace moe::ui {

namespace {

// Migration N takes the database from version N-1 to N. Never edit a shipped migration: add one.
const QStringList& migrationStatements(int to_version) {
    static const QStringList v1 = {
        QStringLiteral("CREATE TABLE conversations ("
                       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                       " title TEXT NOT NULL,"
                       " created_at INTEGER NOT NULL,"
                       " updated_at INTEGER NOT NULL)"),
        QStringLiteral("CREATE TABLE messages ("
                       " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                       " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
                       " position INTEGER NOT NULL,"
                       " role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),"
                       " content TEXT NOT NULL,"
                       " reasoning TEXT NOT NULL DEFAULT '',"
                       " UNIQUE (conversation_id, position))"),
        QStringLiteral("CREATE INDEX conversations_by_update ON conversations(updated_at DESC)"),
    };
    // Version 2: the system prompt per conversation and the reply's timings, tokens and routing.
    static const QStringList v2 = {
        QStringLiteral("ALTER TABLE conversations ADD COLUMN system_prompt TEXT NOT NULL DEFAULT ''"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN model TEXT NOT NULL DEFAULT ''"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN finish_reason TEXT NOT NULL DEFAULT ''"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN error TEXT NOT NULL DEFAULT ''"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN ttft_ms REAL NOT NULL DEFAULT -1"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN tokens_per_second REAL NOT NULL DEFAULT -1"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN tokens_json TEXT NOT NULL DEFAULT '[]'"),
        QStringLiteral("ALTER TABLE messages ADD COLUMN routing BLOB"),
    };
    // Version 3: speculative decoding on or off per conversation (issue #13: compare per chat).
    static const QStringList v3 = {
        QStringLiteral("ALTER TABLE conversations ADD COLUMN speculative INTEGER NOT NULL DEFAULT 0"),
    };
    static const QStringList none;
    switch (to_version) {
        case 1: return v1;
        case 2: return v2;
        case 3: return v3;
        default: return none;
    }
}

bool exec(QSqlDatabase& db, const QString& sql, QString* error) {
    QSqlQuery q(db);
    if (q.exec(sql)) return true;
    *error = QStringLiteral("%1: \"%2\" failed: %3").arg(db.databaseName(), sql, q.lastError().text());
    return false;
}

bool applyMigration(QSqlDatabase& db, int to_version, QString* error) {
    SqlTransaction tx(db);
    if (!tx.isOpen()) {
        *error = QStringLiteral("%1: cannot begin a transaction: %2").arg(db.databaseName(), db.lastError().text());
        return false;
    }
    for (const QString& sql : migrationStatements(to_version))
        if (!exec(db, sql, error)) return false;
    if (!exec(db, QStringLiteral("DELETE FROM schema_version"), error)) return false;
    if (!exec(db, QStringLiteral("INSERT INTO schema_version(version) VALUES (%1)").arg(to_version), error))
        return false;
    if (tx.commit()) return true;
    *error = QStringLiteral("%1: commit of schema version %2 failed: %3")
                 .arg(db.databaseName())
                 .arg(to_version)
                 .arg(db.lastError().text());
    return false;
}

}  // namespace

int conversationSchemaVersion(const QSqlDatabase& db) {
    QSqlQuery q(db);
    if (!q.exec(QStringLiteral("SELECT version FROM schema_version"))) return -1;
    return q.next() ? q.value(0).toInt() : 0;
}

bool migrateConversationSchema(QSqlDatabase& db, QString* error) {
    if (!exec(db, QStringLiteral("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"), error))
        return false;
    const int current = conversationSchemaVersion(db);
    if (current < 0) {
        *error = QStringLiteral("%1: cannot read schema_version: %2").arg(db.databaseName(), db.lastError().text());
        return false;
    }
    if (current > kConversationSchemaVersion) {
        *error = QStringLiteral("%1: the database has schema version %2, newer than this build's %3; "
                                "open it with a newer MoE Workbench")
                     .arg(db.databaseName())
                     .arg(current)
                     .arg(kConversationSchemaVersion);
        return false;
    }
    for (int v = current + 1; v <= kConversationSchemaVersion; ++v)
        if (!applyMigration(db, v, error)) return false;
    return true;
}

}  // namespace moe::ui
