#include "chat_panel.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QKeySequence>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QTextCursor>
#include <QVBoxLayout>

#include "chat_session.h"
#include "conversation_sidebar.h"
#include "conversation_store.h"
#include "conversation_view.h"
#include "sampling_controls.h"

namespace moe::ui {

namespace {

// The architecture as its makers write it.
QString architectureName(const QString& arch) {
    if (arch == QLatin1String("deepseek_v3")) return QStringLiteral("DeepSeek-V3");
    if (arch == QLatin1String("deepseek_v2")) return QStringLiteral("DeepSeek-V2");
    if (arch == QLatin1String("qwen2")) return QStringLiteral("Qwen2");
    return arch;
}

// What the user should know about the model that answers: its name and kind, how much it reads at
// once, whether it can chat at all, that it thinks before answering, and what the demo models are.
QString describeModel(const QJsonObject& m) {
    const QString id = m.value(QStringLiteral("id")).toString();
    QString text = QObject::tr("Model: <b>%1</b>").arg(id.toHtmlEscaped());
    const QString arch = m.value(QStringLiteral("architecture")).toString();
    if (!arch.isEmpty()) text += QObject::tr(" · %1 architecture").arg(architectureName(arch).toHtmlEscaped());
    if (const int context = m.value(QStringLiteral("max_context")).toInt(); context > 0)
        text += QObject::tr(" · reads up to %L1 tokens at once").arg(context);
    const QJsonValue tpl = m.value(QStringLiteral("chat_template"));
    if (tpl.isBool() && !tpl.toBool())
        text += QObject::tr(" · <span style='color:#b00020'>it has no chat template, so it cannot chat</span>");
    if (m.value(QStringLiteral("reasoning")).toBool())
        text += QObject::tr(" · thinks before it answers (the reasoning is folded above each reply)");
    if (id == QLatin1String("demo-trained"))
        text += QObject::tr("<br><i>Demo model: a tiny DeepSeek-V3-architecture model (12.5 M parameters) trained by "
                            "this engine for 2 minutes on 27 MB of code, English, maths, Chinese and dialogue. "
                            "It is not a chatbot: it continues text in those styles for a sentence or two. Its "
                            "experts have specialised by domain — watch which ones each kind of text picks.</i>");
    if (id == QLatin1String("demo-untrained"))
        text += QObject::tr("<br><i>Untrained demo model (random weights): its replies are meaningless text, but which "
                            "experts it picks is real routing, so every view works.</i>");
    return text;
}

}  // namespace

ChatPanel::ChatPanel(EngineClient* client, ConversationStore* store, QWidget* parent)
    : QWidget(parent), client_(client), store_(store) {
    setObjectName(QStringLiteral("chatPanel"));
    session_ = new ChatSession(client_, store_, this);
    sidebar_ = new ConversationSidebar(store_, this);
    sampling_ = new SamplingControls(this);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(sidebar_);
    splitter->addWidget(buildConversationColumn());
    splitter->addWidget(buildSettingsColumn());
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 4);
    splitter->setStretchFactor(2, 1);
    splitter->setSizes({150, 700, 190});
    splitter->setChildrenCollapsible(true);  // the list and the settings can be folded away
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);

    session_->setRequestOptions(sampling_->requestOptions());
    session_->setSpeculative(sampling_->speculative());  // a new chat starts with the last choice
    connect(sampling_, &SamplingControls::changed, this, [this] {
        session_->setSpeculative(sampling_->speculative());  // per conversation (issue #13: compare per chat)
        session_->setRequestOptions(sampling_->requestOptions());
    });
    connect(client_, &EngineClient::modelsChanged, this, &ChatPanel::onModels);
    connect(sidebar_, &ConversationSidebar::openRequested, this, &ChatPanel::openConversation);
    connect(sidebar_, &ConversationSidebar::newRequested, session_, &ChatSession::newConversation);
    connect(sidebar_, &ConversationSidebar::deleted, this, [this](qint64 id) {
        if (id == session_->conversationId()) session_->newConversation();
    });
    connect(session_, &ChatSession::conversationSaved, sidebar_, &ConversationSidebar::setCurrent);
    connect(session_, &ChatSession::messagesReset, this, [this] {
        system_prompt_->setPlainText(session_->systemPrompt());
        sampling_->setSpeculative(session_->speculative());
        sidebar_->setCurrent(session_->conversationId());
    });
    connect(session_, &ChatSession::busyChanged, this, &ChatPanel::updateBusy);
    connect(session_, &ChatSession::storeError, this, [this](const QString& message) {
        notice_->setText(tr("Saving the conversation failed: %1").arg(message));
        notice_->show();
    });
    connect(view_, &ConversationView::tokenClicked, this, &ChatPanel::onTokenClicked);
    if (!store_->isPersistent()) {
        notice_->setText(tr("Conversations are kept in memory only and will be lost on exit: %1").arg(store_->openError()));
        notice_->show();
    }
    updateBusy(false);
}

QWidget* ChatPanel::buildConversationColumn() {
    auto* column = new QWidget(this);
    model_label_ = new QLabel(tr("Model: waiting for the engine…"), column);
    model_label_->setObjectName(QStringLiteral("chatModelLabel"));
    model_label_->setWordWrap(true);
    notice_ = new QLabel(column);
    notice_->setObjectName(QStringLiteral("chatNotice"));
    notice_->setWordWrap(true);
    notice_->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; padding: 4px;"));
    notice_->hide();
    view_ = new ConversationView(session_, column);
    input_ = new QPlainTextEdit(column);
    input_->setObjectName(QStringLiteral("chatInput"));
    input_->setPlaceholderText(tr("Message (Ctrl+Enter sends)"));
    input_->setMaximumHeight(90);
    send_ = new QPushButton(tr("Send"), column);
    send_->setObjectName(QStringLiteral("sendButton"));
    stop_ = new QPushButton(tr("Stop"), column);
    stop_->setObjectName(QStringLiteral("stopButton"));
    connect(send_, &QPushButton::clicked, this, &ChatPanel::sendFromInput);
    connect(stop_, &QPushButton::clicked, session_, &ChatSession::stop);
    auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), input_);
    connect(shortcut, &QShortcut::activated, this, &ChatPanel::sendFromInput);
    // Esc anywhere in the chat stops a reply that is being written.
    auto* stop_key = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    stop_key->setContext(Qt::WidgetWithChildrenShortcut);
    connect(stop_key, &QShortcut::activated, session_, [this] {
        if (session_->isBusy()) session_->stop();
    });
    stop_->setToolTip(tr("Stop the reply (Esc)"));
    send_->setToolTip(tr("Send the message (Ctrl+Enter)"));
    // A suggestion of the empty conversation goes into the box, ready to send or change.
    connect(view_, &ConversationView::suggestionChosen, this, [this](const QString& text) {
        input_->setPlainText(text);
        input_->moveCursor(QTextCursor::End);
        focusInput();
    });

    auto* buttons = new QVBoxLayout;
    buttons->addWidget(send_);
    buttons->addWidget(stop_);
    buttons->addStretch();
    auto* input_row = new QHBoxLayout;
    input_row->addWidget(input_, 1);
    input_row->addLayout(buttons);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(model_label_);
    layout->addWidget(notice_);
    layout->addWidget(view_, 1);
    layout->addLayout(input_row);
    return column;
}

QWidget* ChatPanel::buildSettingsColumn() {
    auto* column = new QWidget(this);
    auto* prompt_box = new QGroupBox(tr("System prompt"), column);
    system_prompt_ = new QPlainTextEdit(prompt_box);
    system_prompt_->setObjectName(QStringLiteral("systemPrompt"));
    system_prompt_->setPlaceholderText(tr("Optional instructions sent as the system message"));
    (new QVBoxLayout(prompt_box))->addWidget(system_prompt_);
    auto* sampling_box = new QGroupBox(tr("Sampling"), column);
    (new QVBoxLayout(sampling_box))->addWidget(sampling_);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    system_prompt_->setMaximumHeight(160);  // a few lines; the box scrolls for longer prompts
    layout->addWidget(prompt_box);
    layout->addWidget(sampling_box);
    layout->addStretch(1);
    return column;
}

QString ChatPanel::modelText() const { return model_label_->text(); }

void ChatPanel::onModels(const QJsonArray& models) {
    if (models.isEmpty()) {
        model_label_->setText(tr("Model: none loaded — open one with File › Open model folder… or the Models panel"));
        session_->setModel(QString());
        sampling_->setModelLimits(0);
        sampling_->setMtpModules(-1);
        return;
    }
    const QJsonObject m = models.first().toObject();
    model_label_->setText(describeModel(m));
    session_->setModel(m.value(QStringLiteral("id")).toString());
    sampling_->setModelLimits(m.value(QStringLiteral("max_context")).toInt());
    sampling_->setMtpModules(m.contains(QStringLiteral("mtp_modules")) ? m.value(QStringLiteral("mtp_modules")).toInt() : -1);
}

void ChatPanel::sendMessage(const QString& text) {
    session_->setSystemPrompt(system_prompt_->toPlainText());
    session_->send(text);
}

void ChatPanel::sendFromInput() {
    const QString text = input_->toPlainText();
    if (text.trimmed().isEmpty() || session_->isBusy()) return;
    input_->clear();
    sendMessage(text);
}

void ChatPanel::engineLost(const QString& reason) { session_->engineLost(reason); }

void ChatPanel::focusInput() { input_->setFocus(Qt::OtherFocusReason); }
QString ChatPanel::inputText() const { return input_->toPlainText(); }

void ChatPanel::openConversation(qint64 id) {
    if (id == session_->conversationId()) return;
    if (!session_->openConversation(id)) {
        notice_->setText(tr("Conversation %1 could not be read: %2").arg(id).arg(store_->lastError()));
        notice_->show();
    }
}

void ChatPanel::updateBusy(bool busy) {
    send_->setEnabled(!busy);
    stop_->setEnabled(busy);
}

void ChatPanel::onTokenClicked(int message_index, int token_index) {
    const auto& messages = session_->messages();
    if (message_index < 0 || message_index >= messages.size()) return;
    const ChatMessage& m = messages[message_index];
    if (!m.hasRouting()) {
        notice_->setText(tr("This reply has no recorded routing (\"Record routing\" was off or the server "
                            "does not return routed experts)."));
        notice_->show();
        return;
    }
    emit tokenClicked(m.routing, m.tokens, token_index, m.prompt_tokens, m.model);
}

}  // namespace moe::ui
