// The conversation database's schema and its migrations. Each migration runs in its own
// transaction together with the version bump, so a database is always at one whole version.
#pragma once

#include <QSqlDatabase>
#include <QString>

namespace moe::ui {

constexpr int kConversationSchemaVersion = 3;

// The version recorded in the database (0 for a new, empty one); -1 when it cannot be read.
int conversationSchemaVersion(const QSqlDatabase& db);
// Brings the database to kConversationSchemaVersion. A database newer than this build is refused
// (its columns may mean something we do not know). On failure returns false and sets *error.
bool migrateConversationSchema(QSqlDatabase& db, QString* error);

}  // namespace moe::ui
