// ConversationStore on real SQLite files in a temporary folder: migrations from an older schema,
// refusal of a newer one, the in-memory fallback, round trips of routing and tokens, rollback.
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include "conversation_schema.h"
#include "conversation_store.h"

using namespace moe::ui;

namespace {

// Runs SQL on a file through its own connection (the store's is private), then closes it.
void rawSql(const QString& path, const QStringList& statements) {
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw"));
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery q(db);
        for (const QString& sql : statements) QVERIFY2(q.exec(sql), qPrintable(sql));
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("raw"));
}

int rawVersion(const QString& path) {
    int version = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw"));
        db.setDatabaseName(path);
        if (db.open()) version = conversationSchemaVersion(db);
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("raw"));
    return version;
}

ChatMessage message(const QString& role, const QString& content) {
    ChatMessage m;
    m.role = role;
    m.content = content;
    return m;
}

ChatMessage replyWithRouting() {
    ChatMessage m = message(QStringLiteral("assistant"), QStringLiteral("Packets drift like leaves"));
    m.reasoning = QStringLiteral("a haiku has 5-7-5 syllables");
    m.time_to_first_token_ms = 12.5;
    m.tokens_per_second = 88.25;
    m.prompt_tokens = 3;
    m.completion_tokens = 2;
    m.finish_reason = QStringLiteral("stop");
    m.tokens = {CompletionToken{17, QStringLiteral("Pack")}, CompletionToken{4, QStringLiteral("ets")}};
    // 4 routed tokens (3 prompt + 2 completion - 1), 2 layers (layer 0 dense), top-2.
    m.routing.tokens = 4;
    m.routing.layers = 2;
    m.routing.top_k = 2;
    m.routing.moe_layers = {1};
    for (int t = 0; t < 4; ++t)
        for (int l = 0; l < 2; ++l)
            for (int k = 0; k < 2; ++k) {
                m.routing.ids.append(l == 0 ? -1 : (t * 3 + k) % 8);
                m.routing.weights.append(l == 0 ? 0.0f : 0.25f + 0.5f * k);
            }
    return m;
}

}  // namespace

class ConversationStoreTest : public QObject {
    Q_OBJECT
private slots:
    void freshDatabaseIsAtTheLatestVersion();
    void migratesAVersion1Database();
    void refusesANewerSchemaAndWorksInMemory();
    void unopenablePathFallsBackToMemory();
    void roundTripsRoutingAndTokens();
    void failedSaveRollsBackEverything();
    void searchMatchesTitlesAndText();
    void renameAndDeleteCascade();
    void speculativeIsKeptPerConversation();
};

void ConversationStoreTest::freshDatabaseIsAtTheLatestVersion() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("sub/folder/conversations.sqlite"));
    {
        ConversationStore store(path);
        QVERIFY2(store.isPersistent(), qPrintable(store.openError()));
        QCOMPARE(store.path(), path);
        QVERIFY(store.createConversation(QStringLiteral("t"), QString()) > 0);
    }
    QCOMPARE(rawVersion(path), kConversationSchemaVersion);
}

void ConversationStoreTest::migratesAVersion1Database() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("v1.sqlite"));
    // Version 1 as it shipped, written out here independently of the migration code.
    rawSql(path, {QStringLiteral("CREATE TABLE schema_version (version INTEGER NOT NULL)"),
                  QStringLiteral("INSERT INTO schema_version VALUES (1)"),
                  QStringLiteral("CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,"
                                 " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"),
                  QStringLiteral("CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER"
                                 " NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, position INTEGER NOT NULL,"
                                 " role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL,"
                                 " reasoning TEXT NOT NULL DEFAULT '', UNIQUE (conversation_id, position))"),
                  QStringLiteral("INSERT INTO conversations VALUES (7, 'old chat', 1, 2)"),
                  QStringLiteral("INSERT INTO messages(conversation_id, position, role, content) VALUES (7, 0, 'user', 'hi')"),
                  QStringLiteral("INSERT INTO messages(conversation_id, position, role, content, reasoning)"
                                 " VALUES (7, 1, 'assistant', 'hello', 'greet back')")});
    {
        ConversationStore store(path);
        QVERIFY2(store.isPersistent(), qPrintable(store.openError()));
        const auto summary = store.conversation(7);
        QVERIFY(summary.has_value());
        QCOMPARE(summary->title, QStringLiteral("old chat"));
        QCOMPARE(summary->system_prompt, QString(""));
        const QVector<ChatMessage> messages = store.messages(7);
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages[1].content, QStringLiteral("hello"));
        QCOMPARE(messages[1].reasoning, QStringLiteral("greet back"));
        QCOMPARE(messages[1].time_to_first_token_ms, -1.0);  // the v2 column's default
        QVERIFY(!messages[1].hasRouting());
        QVERIFY(!summary->speculative);  // the v3 column's default
        QVERIFY(store.setSystemPrompt(7, QStringLiteral("be brief")));
        QVERIFY(store.setSpeculative(7, true));
        QVERIFY(store.conversation(7)->speculative);
    }
    QCOMPARE(rawVersion(path), kConversationSchemaVersion);
}

void ConversationStoreTest::refusesANewerSchemaAndWorksInMemory() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("future.sqlite"));
    rawSql(path, {QStringLiteral("CREATE TABLE schema_version (version INTEGER NOT NULL)"),
                  QStringLiteral("INSERT INTO schema_version VALUES (99)")});
    ConversationStore store(path);
    QVERIFY(!store.isPersistent());
    QVERIFY2(store.openError().contains(path) && store.openError().contains(QStringLiteral("newer")),
             qPrintable(store.openError()));
    const qint64 id = store.createConversation(QStringLiteral("kept in memory"), QString());
    QVERIFY(id > 0);
    QVERIFY(store.saveMessages(id, {message(QStringLiteral("user"), QStringLiteral("still works"))}));
    QCOMPARE(store.messages(id).size(), 1);
    QCOMPARE(rawVersion(path), 99);  // the newer database is left untouched
}

void ConversationStoreTest::unopenablePathFallsBackToMemory() {
    QTemporaryDir dir;
    QFile blocker(dir.filePath(QStringLiteral("not-a-folder")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString path = dir.filePath(QStringLiteral("not-a-folder/conversations.sqlite"));
    ConversationStore store(path);
    QVERIFY(!store.isPersistent());
    QVERIFY2(store.openError().contains(path), qPrintable(store.openError()));
    QVERIFY(store.createConversation(QStringLiteral("memory"), QString()) > 0);
    QCOMPARE(store.conversations().size(), 1);
}

void ConversationStoreTest::roundTripsRoutingAndTokens() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.sqlite"));
    const ChatMessage reply = replyWithRouting();
    qint64 id = -1;
    {
        ConversationStore store(path);
        id = store.createConversation(QStringLiteral("routers"), QStringLiteral("You are terse."));
        QVERIFY(store.saveMessages(id, {message(QStringLiteral("user"), QStringLiteral("haiku?")), reply}));
    }
    ConversationStore reopened(path);
    const QVector<ChatMessage> messages = reopened.messages(id);
    QCOMPARE(messages.size(), 2);
    const ChatMessage& r = messages[1];
    QCOMPARE(r.content, reply.content);
    QCOMPARE(r.reasoning, reply.reasoning);
    QCOMPARE(r.time_to_first_token_ms, 12.5);
    QCOMPARE(r.tokens_per_second, 88.25);
    QCOMPARE(r.finish_reason, QStringLiteral("stop"));
    QCOMPARE(r.tokens.size(), 2);
    QCOMPARE(r.tokens[1].id, 4);
    QCOMPARE(r.tokens[1].text, QStringLiteral("ets"));
    QCOMPARE(r.routing.tokens, 4);
    QCOMPARE(r.routing.ids, reply.routing.ids);
    QCOMPARE(r.routing.weights, reply.routing.weights);
    QCOMPARE(r.routing.moe_layers, reply.routing.moe_layers);
    QCOMPARE(reopened.conversation(id)->system_prompt, QStringLiteral("You are terse."));
}

void ConversationStoreTest::failedSaveRollsBackEverything() {
    QTemporaryDir dir;
    ConversationStore store(dir.filePath(QStringLiteral("c.sqlite")));
    const qint64 id = store.createConversation(QStringLiteral("t"), QString());
    QVERIFY(store.saveMessages(id, {message(QStringLiteral("user"), QStringLiteral("one")),
                                    message(QStringLiteral("assistant"), QStringLiteral("two"))}));
    const qint64 updated = store.conversation(id)->updated_at_ms;
    QTest::qWait(5);  // a later save would get a later timestamp
    // The middle message violates the role CHECK: the delete of the old rows, the first insert and the
    // timestamp update must all be undone.
    QVERIFY(!store.saveMessages(id, {message(QStringLiteral("user"), QStringLiteral("new one")),
                                     message(QStringLiteral("robot"), QStringLiteral("bad role")),
                                     message(QStringLiteral("assistant"), QStringLiteral("new three"))}));
    QVERIFY2(store.lastError().contains(QStringLiteral("message 1")), qPrintable(store.lastError()));
    const QVector<ChatMessage> messages = store.messages(id);
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages[0].content, QStringLiteral("one"));
    QCOMPARE(messages[1].content, QStringLiteral("two"));
    QCOMPARE(store.conversation(id)->updated_at_ms, updated);
    // Saving into a conversation that does not exist fails and writes nothing.
    QVERIFY(!store.saveMessages(id + 100, {message(QStringLiteral("user"), QStringLiteral("orphan"))}));
    QVERIFY(store.messages(id + 100).isEmpty());
}

void ConversationStoreTest::searchMatchesTitlesAndText() {
    QTemporaryDir dir;
    ConversationStore store(dir.filePath(QStringLiteral("c.sqlite")));
    const qint64 a = store.createConversation(QStringLiteral("Router poems"), QString());
    const qint64 b = store.createConversation(QStringLiteral("Maths"), QString());
    const qint64 c = store.createConversation(QStringLiteral("Discounts"), QString());
    QVERIFY(store.saveMessages(b, {message(QStringLiteral("user"), QStringLiteral("What is 2+2 in a HAIKU?"))}));
    QVERIFY(store.saveMessages(c, {message(QStringLiteral("user"), QStringLiteral("save 100% now"))}));
    QCOMPARE(store.conversations().size(), 3);
    QCOMPARE(store.conversations(QStringLiteral("router")).size(), 1);
    QCOMPARE(store.conversations(QStringLiteral("router")).first().id, a);
    QCOMPARE(store.conversations(QStringLiteral("haiku")).size(), 1);
    QCOMPARE(store.conversations(QStringLiteral("haiku")).first().id, b);
    // % and _ are literal characters, not wildcards.
    QCOMPARE(store.conversations(QStringLiteral("0%")).size(), 1);
    QCOMPARE(store.conversations(QStringLiteral("%")).first().id, c);
    QCOMPARE(store.conversations(QStringLiteral("_")).size(), 0);
}

void ConversationStoreTest::renameAndDeleteCascade() {
    QTemporaryDir dir;
    ConversationStore store(dir.filePath(QStringLiteral("c.sqlite")));
    const qint64 id = store.createConversation(QStringLiteral("old"), QString());
    QVERIFY(store.saveMessages(id, {message(QStringLiteral("user"), QStringLiteral("x"))}));
    QVERIFY(store.renameConversation(id, QStringLiteral("new title")));
    QCOMPARE(store.conversation(id)->title, QStringLiteral("new title"));
    QVERIFY(!store.renameConversation(id + 1, QStringLiteral("nobody")));
    QVERIFY(store.deleteConversation(id));
    QVERIFY(!store.conversation(id).has_value());
    QVERIFY(store.messages(id).isEmpty());  // ON DELETE CASCADE (foreign keys are on)
}

// Issue #13: speculative decoding is toggled per conversation, to compare; the choice survives a
// restart and does not move the conversation in the list (it is a setting, not an edit).
void ConversationStoreTest::speculativeIsKeptPerConversation() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("c.sqlite"));
    qint64 on = -1, off = -1, updated = 0;
    {
        ConversationStore store(path);
        on = store.createConversation(QStringLiteral("with MTP"), QString(), true);
        off = store.createConversation(QStringLiteral("plain"), QString());
        QVERIFY(on > 0 && off > 0);
        QVERIFY(store.conversation(on)->speculative);
        QVERIFY(!store.conversation(off)->speculative);
        updated = store.conversation(off)->updated_at_ms;
        QTest::qWait(5);
        QVERIFY(store.setSpeculative(off, true));
        QVERIFY(store.setSpeculative(on, false));
        QCOMPARE(store.conversation(off)->updated_at_ms, updated);
        QVERIFY(!store.setSpeculative(9999, true));
        QVERIFY(store.lastError().contains(QStringLiteral("9999")));
    }
    ConversationStore reopened(path);
    QVERIFY(reopened.conversation(off)->speculative);
    QVERIFY(!reopened.conversation(on)->speculative);
}

QTEST_GUILESS_MAIN(ConversationStoreTest)
#include "conversation_store_test.moc"
