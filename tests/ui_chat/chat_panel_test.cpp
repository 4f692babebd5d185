// The chat panel's real widgets (offscreen) against a real `moe-engine serve --demo` on the CPU:
// streaming into the view, stop, regenerate, edit-and-resend, persistence and search, token clicks.
#include <QCheckBox>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <QToolButton>

#include <algorithm>
#include <memory>

#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_sidebar.h"
#include "conversation_store.h"
#include "conversation_view.h"
#include "error_notice.h"
#include "demo_engine_fixture.h"
#include "message_widget.h"

using namespace moe::ui;

namespace {

constexpr int kTokenDelayMs = 15;  // engine-side sleep per token: replies last long enough to stop
constexpr int kReplyTimeoutMs = 60'000;
const QString kPrompt = QStringLiteral("Write a haiku about routers");

// Fixed sampling for reproducible replies; ignore_eos so the untrained model never ends at token 0.
QJsonObject requestOptions(int max_tokens, int seed = 11) {
    return QJsonObject{{QStringLiteral("temperature"), 0.8},     {QStringLiteral("seed"), seed},
                       {QStringLiteral("max_tokens"), max_tokens}, {QStringLiteral("ignore_eos"), true},
                       {QStringLiteral("return_routed_experts"), true}};
}

}  // namespace

class ChatPanelTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void sendingStreamsTokensIntoTheView();
    void guiThreadNeverWaitsDuringGeneration();
    void stopEndsTheReplyMidWay();
    void regenerateReplacesTheLastReply();
    void editAndResendTruncatesAfterTheEditedMessage();
    void conversationSurvivesAStoreRestartAndIsSearchable();
    void tokenClickEmitsItsRoutingRow();
    void errorIsShownInlineWithRetry();
    void speculativeToggleFollowsTheOpenConversation();

private:
    MessageWidget* widget(int index) const { return panel_->view()->messageWidget(index); }
    bool waitIdle() {
        return QTest::qWaitFor([this] { return !panel_->session()->isBusy(); }, kReplyTimeoutMs);
    }
    bool sendAndWait(const QString& text, int max_tokens) {
        panel_->session()->setRequestOptions(requestOptions(max_tokens));
        panel_->sendMessage(text);
        if (!waitIdle()) return false;
        const ChatMessage& reply = panel_->session()->messages().last();
        if (!reply.error.isEmpty()) qWarning("reply failed: %s", qPrintable(reply.error));
        return reply.error.isEmpty();
    }
    void makePanel() {
        panel_ = std::make_unique<ChatPanel>(&engine_.client(), store_.get());
        panel_->resize(1000, 700);
        panel_->show();
        engine_.client().refreshModels();  // the panel learns the model id and template
    }

    test::DemoEngineFixture engine_;
    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<ConversationStore> store_;
    std::unique_ptr<ChatPanel> panel_;
};

void ChatPanelTest::initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings of the sampling controls stay out of $HOME
    QString error;
    QVERIFY2(engine_.start(kTokenDelayMs, &error), qPrintable(error));
}

void ChatPanelTest::init() {
    dir_ = std::make_unique<QTemporaryDir>();
    store_ = std::make_unique<ConversationStore>(dir_->filePath(QStringLiteral("conversations.sqlite")));
    QVERIFY2(store_->isPersistent(), qPrintable(store_->openError()));
    makePanel();
    QTRY_VERIFY(panel_->modelText().contains(engine_.model().value(QStringLiteral("id")).toString()));
}

void ChatPanelTest::cleanup() {
    panel_.reset();
    store_.reset();
    dir_.reset();
}

void ChatPanelTest::sendingStreamsTokensIntoTheView() {
    QSignalSpy deltas(&engine_.client(), &EngineClient::delta);
    QVector<int> lengths;  // the reply view's text length whenever it changed while streaming
    QTimer sampler;
    connect(&sampler, &QTimer::timeout, this, [&] {
        MessageWidget* reply = widget(1);
        if (!reply || !panel_->session()->isBusy()) return;
        const int n = int(reply->bodyText().size());
        if (lengths.isEmpty() || lengths.last() != n) lengths.append(n);
    });
    sampler.start(5);
    QVERIFY(sendAndWait(kPrompt, 32));
    sampler.stop();

    QVERIFY2(deltas.count() >= 2, qPrintable(QString::number(deltas.count())));
    lengths.removeAll(0);
    QVERIFY2(lengths.size() >= 2, "the view's text should grow while the reply streams");
    QVERIFY(std::is_sorted(lengths.begin(), lengths.end()));
    const ChatMessage& reply = panel_->session()->messages().last();
    QCOMPARE(reply.completion_tokens, 32);
    QCOMPARE(reply.finish_reason, QStringLiteral("length"));
    QVERIFY(!widget(1)->bodyText().isEmpty());
    QVERIFY(reply.time_to_first_token_ms > 0);
    QVERIFY(reply.tokens_per_second > 0);
    const QString stats = widget(1)->findChild<QLabel*>(QStringLiteral("messageStats"))->text();
    QVERIFY2(stats.contains(QStringLiteral("first token after")) && stats.contains(QStringLiteral("tokens/s")), qPrintable(stats));
    QVERIFY(stats.contains(QString::number(reply.tokens_per_second, 'f', 1)));
}

void ChatPanelTest::guiThreadNeverWaitsDuringGeneration() {
    QVector<qint64> gaps;
    QElapsedTimer clock;
    QTimer heartbeat;
    heartbeat.setTimerType(Qt::PreciseTimer);
    connect(&heartbeat, &QTimer::timeout, this, [&] {
        if (panel_->session()->isBusy() && clock.isValid()) gaps.append(clock.restart());
        else clock.restart();
    });
    clock.start();
    heartbeat.start(10);
    QVERIFY(sendAndWait(kPrompt, 64));
    heartbeat.stop();
    QVERIFY(gaps.size() > 20);
    std::sort(gaps.begin(), gaps.end());
    const qint64 p99 = gaps[qsizetype(0.99 * double(gaps.size() - 1))];
    qInfo("10 ms heartbeat during a 64-token reply: %lld beats, p99 gap %lld ms, max %lld ms", qint64(gaps.size()),
          p99, gaps.last());
    QVERIFY2(p99 < 50, qPrintable(QString::number(p99)));
}

void ChatPanelTest::stopEndsTheReplyMidWay() {
    QSignalSpy deltas(&engine_.client(), &EngineClient::delta);
    panel_->session()->setRequestOptions(requestOptions(400));
    panel_->sendMessage(kPrompt);
    QTRY_VERIFY_WITH_TIMEOUT(deltas.count() >= 3, kReplyTimeoutMs);
    auto* stop = panel_->findChild<QPushButton*>(QStringLiteral("stopButton"));
    QVERIFY(stop->isEnabled());
    stop->click();
    QVERIFY(waitIdle());
    const ChatMessage& reply = panel_->session()->messages().last();
    QCOMPARE(reply.finish_reason, QStringLiteral("cancelled"));
    QVERIFY(!reply.content.isEmpty());  // what streamed before Stop is kept
    QVERIFY(reply.completion_tokens < 400);
    QVERIFY(widget(1)->statsText().contains(QStringLiteral("stopped by you")));
    QVERIFY(panel_->findChild<QPushButton*>(QStringLiteral("sendButton"))->isEnabled());
    const QVector<ChatMessage> stored = store_->messages(panel_->session()->conversationId());
    QCOMPARE(stored.size(), 2);
    QCOMPARE(stored[1].finish_reason, QStringLiteral("cancelled"));
}

void ChatPanelTest::regenerateReplacesTheLastReply() {
    QVERIFY(sendAndWait(kPrompt, 16));
    QSignalSpy finished(&engine_.client(), &EngineClient::finished);
    panel_->session()->setRequestOptions(requestOptions(16, 12345));  // another seed: another reply
    const QString first = panel_->session()->messages().last().content;
    auto* regenerate = widget(1)->findChild<QToolButton*>(QStringLiteral("regenerateButton"));
    QVERIFY(regenerate && !regenerate->isHidden());
    regenerate->click();
    QVERIFY(waitIdle());
    QCOMPARE(finished.count(), 1);
    QCOMPARE(panel_->session()->messages().size(), 2);
    QCOMPARE(panel_->view()->messageCount(), 2);
    const ChatMessage& reply = panel_->session()->messages().last();
    QVERIFY(reply.error.isEmpty());
    QCOMPARE(reply.completion_tokens, 16);
    QVERIFY2(reply.content != first, "a different seed should give a different reply");
    QCOMPARE(store_->messages(panel_->session()->conversationId()).last().content, reply.content);
}

void ChatPanelTest::editAndResendTruncatesAfterTheEditedMessage() {
    QVERIFY(sendAndWait(kPrompt, 8));
    QVERIFY(sendAndWait(QStringLiteral("Another one, about switches"), 8));
    QCOMPARE(panel_->view()->messageCount(), 4);

    widget(0)->findChild<QToolButton*>(QStringLiteral("editButton"))->click();
    auto* editor = widget(0)->findChild<QPlainTextEdit*>(QStringLiteral("messageEditor"));
    QCOMPARE(editor->toPlainText(), kPrompt);
    editor->setPlainText(QStringLiteral("Write a limerick about hubs"));
    widget(0)->findChild<QPushButton*>(QStringLiteral("editSendButton"))->click();
    QVERIFY(waitIdle());

    const auto& messages = panel_->session()->messages();
    QCOMPARE(messages.size(), 2);
    QCOMPARE(messages[0].content, QStringLiteral("Write a limerick about hubs"));
    QVERIFY(messages[1].error.isEmpty());
    QCOMPARE(messages[1].completion_tokens, 8);
    QCOMPARE(panel_->view()->messageCount(), 2);
    // The reply answered the edited prompt alone: its prompt is shorter than the 4-message one was.
    const QVector<ChatMessage> stored = store_->messages(panel_->session()->conversationId());
    QCOMPARE(stored.size(), 2);
    QCOMPARE(stored[0].content, messages[0].content);
}

void ChatPanelTest::conversationSurvivesAStoreRestartAndIsSearchable() {
    QVERIFY(sendAndWait(kPrompt, 12));
    const qint64 id = panel_->session()->conversationId();
    QVERIFY(id > 0);
    const ChatMessage reply = panel_->session()->messages().last();
    panel_.reset();
    store_.reset();  // closes the database

    store_ = std::make_unique<ConversationStore>(dir_->filePath(QStringLiteral("conversations.sqlite")));
    const QVector<ChatMessage> stored = store_->messages(id);
    QCOMPARE(stored.size(), 2);
    QCOMPARE(stored[0].content, kPrompt);
    QCOMPARE(stored[1].content, reply.content);
    QCOMPARE(stored[1].tokens_per_second, reply.tokens_per_second);
    QCOMPARE(stored[1].routing.ids, reply.routing.ids);
    QCOMPARE(store_->conversation(id)->title, kPrompt);

    makePanel();
    ConversationSidebar* sidebar = panel_->sidebar();
    sidebar->setSearch(QStringLiteral("haiku"));
    QCOMPARE(sidebar->list()->count(), 1);
    QCOMPARE(sidebar->idAt(0), id);
    sidebar->setSearch(QStringLiteral("no conversation mentions this"));
    QCOMPARE(sidebar->list()->count(), 0);
    sidebar->setSearch(QString());
    emit sidebar->list()->itemClicked(sidebar->list()->item(0));
    QCOMPARE(panel_->session()->conversationId(), id);
    QCOMPARE(panel_->view()->messageCount(), 2);
    QCOMPARE(widget(1)->message().content, reply.content);
}

void ChatPanelTest::tokenClickEmitsItsRoutingRow() {
    QVERIFY(sendAndWait(kPrompt, 10));
    const ChatMessage& reply = panel_->session()->messages().last();
    QCOMPARE(reply.tokens.size(), 10);
    QVERIFY(reply.hasRouting());
    // Every prompt and completion token but the last was run through the model.
    QCOMPARE(reply.routing.start_len + reply.routing.tokens, reply.prompt_tokens + reply.completion_tokens - 1);

    struct Click {
        RoutedExperts routing;
        QVector<CompletionToken> tokens;
        int index = -1, prompt_tokens = -1;
        QString model;
    };
    QVector<Click> clicks;
    connect(panel_.get(), &ChatPanel::tokenClicked, this,
            [&](const RoutedExperts& r, const QVector<CompletionToken>& t, int i, int p, const QString& m) {
                clicks.append({r, t, i, p, m});
            });
    auto* toggle = widget(1)->findChild<QToolButton*>(QStringLiteral("tokensButton"));
    QVERIFY(toggle && !toggle->isHidden());
    toggle->click();
    auto* tokens = widget(1)->findChild<QTextBrowser*>(QStringLiteral("tokenView"));
    QVERIFY(!tokens->isHidden());
    QVERIFY(tokens->toHtml().contains(QStringLiteral("href=\"tok:9\"")));
    emit tokens->anchorClicked(QUrl(QStringLiteral("tok:3")));  // what a click on the 4th token does
    QCOMPARE(clicks.size(), 1);
    const Click& c = clicks.first();
    QCOMPARE(c.index, 3);
    QCOMPARE(c.model, reply.model);  // the explorer names the model that wrote the reply
    QVERIFY(!c.model.isEmpty());
    QCOMPARE(c.tokens.size(), 10);
    QCOMPARE(c.tokens[3].id, reply.tokens[3].id);
    const int row = c.prompt_tokens + c.index - c.routing.start_len;
    QVERIFY(row >= 0 && row < c.routing.tokens);
    const int n_experts = engine_.model().value(QStringLiteral("n_routed_experts")).toInt();
    const QJsonArray moe_layers = engine_.model().value(QStringLiteral("moe_layers")).toArray();
    QVERIFY(n_experts > 0 && !moe_layers.isEmpty());
    for (int l = 0; l < c.routing.layers; ++l) {
        const bool moe = moe_layers.contains(l);
        for (int k = 0; k < c.routing.top_k; ++k) {
            const int e = c.routing.expert_id(row, l, k);
            QVERIFY2(moe ? (e >= 0 && e < n_experts) : e == -1, qPrintable(QStringLiteral("layer %1: %2").arg(l).arg(e)));
        }
    }
}

void ChatPanelTest::errorIsShownInlineWithRetry() {
    // temperature 5 is outside the API's 0-2: the engine answers 400 invalid_value.
    QJsonObject bad = requestOptions(8);
    bad.insert(QStringLiteral("temperature"), 5.0);
    panel_->session()->setRequestOptions(bad);
    panel_->sendMessage(kPrompt);
    QVERIFY(waitIdle());
    const ChatMessage& failed = panel_->session()->messages().last();
    QVERIFY2(failed.error.contains(QStringLiteral("temperature")), qPrintable(failed.error));
    // Plain words on screen, the engine's message one click away (issue #14 item 3).
    auto* error = widget(1)->findChild<ErrorNotice*>(QStringLiteral("messageError"));
    QVERIFY(!error->isHidden());
    QVERIFY2(error->text().startsWith(QStringLiteral("The engine refused one of the request's settings.")),
             qPrintable(error->text()));
    QVERIFY(!error->text().contains(QStringLiteral("invalid_value")));
    QCOMPARE(error->detail(), failed.error);
    auto* retry = widget(1)->findChild<QToolButton*>(QStringLiteral("retryButton"));
    QVERIFY(!retry->isHidden());
    QCOMPARE(store_->messages(panel_->session()->conversationId()).last().error, failed.error);

    panel_->session()->setRequestOptions(requestOptions(8));
    retry->click();
    QVERIFY(waitIdle());
    QCOMPARE(panel_->session()->messages().size(), 2);
    const ChatMessage& reply = panel_->session()->messages().last();
    QVERIFY2(reply.error.isEmpty(), qPrintable(reply.error));
    QCOMPARE(reply.completion_tokens, 8);
    QVERIFY(widget(1)->findChild<ErrorNotice*>(QStringLiteral("messageError"))->isHidden());
}

// Issue #13: "a toggle turns speculation on/off per chat to compare". Each conversation keeps its
// own choice; opening one shows (and sends) its choice; a new chat starts with the last choice.
void ChatPanelTest::speculativeToggleFollowsTheOpenConversation() {
    const qint64 with = store_->createConversation(QStringLiteral("with MTP"), QString(), true);
    const qint64 without = store_->createConversation(QStringLiteral("plain"), QString(), false);
    auto* box = panel_->findChild<QCheckBox*>(QStringLiteral("samplingSpeculative"));
    QVERIFY(box);
    QVERIFY(panel_->session()->openConversation(with));
    QVERIFY(box->isChecked());
    QVERIFY(panel_->session()->speculative());
    QVERIFY(panel_->session()->openConversation(without));
    QVERIFY(!box->isChecked());
    box->setChecked(true);  // the user turns it on in this chat: saved with it
    QVERIFY(store_->conversation(without)->speculative);
    QVERIFY(panel_->session()->openConversation(with));
    box->setChecked(false);
    QVERIFY(!store_->conversation(with)->speculative);
    QVERIFY(store_->conversation(without)->speculative);  // the other chat kept its own
    panel_->session()->newConversation();
    QVERIFY(!box->isChecked());  // the last choice carries into the new chat
}

QTEST_MAIN(ChatPanelTest)
#include "chat_panel_test.moc"
