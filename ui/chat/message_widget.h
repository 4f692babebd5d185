// One message in the conversation view. A reply shows its collapsible <think> reasoning, its
// markdown (prose through QTextDocument, code blocks in monospace boxes with Copy), its timings
// (time to the first token, tokens/s), an inline error in plain words (ErrorNotice) with Retry, and a "Tokens" toggle that shows the
// reply as its completion tokens, each clickable. A user message can be edited and resent.
// While a reply streams, re-rendering is coalesced to ~30 Hz so long replies stay cheap.
#pragma once

#include <QFrame>
#include <QTimer>
#include <QVector>

#include "chat_message.h"

class QLabel;
class QTextBrowser;
class QPlainTextEdit;
class QToolButton;
class QVBoxLayout;
class QWidget;

namespace moe::ui {

class ErrorNotice;

class MessageWidget : public QFrame {
    Q_OBJECT
public:
    explicit MessageWidget(QWidget* parent = nullptr);

    // streaming: the reply is still arriving; last_reply: offer Regenerate / Retry.
    void setMessage(const ChatMessage& message, bool streaming, bool last_reply);
    const ChatMessage& message() const { return message_; }

    QString bodyText() const;   // the rendered text as a reader sees it (markdown resolved)
    QString statsText() const;  // "first token after 12 ms · 85.3 tokens/s · 32 tokens · finished"
    void showTokens(bool on);
    void activateToken(int index);  // what a click on token `index` does

signals:
    void editSubmitted(const QString& text);
    void regenerateRequested();
    void tokenClicked(int token_index);

private:
    void buildHeader();
    void buildReasoning();
    void buildFooter();
    void buildEditor();
    void render();
    void renderBody();
    void renderReasoning();
    void renderFooter();
    QWidget* blockWidget(int index, bool code);

    ChatMessage message_;
    bool streaming_ = false;
    bool last_reply_ = false;
    int selected_token_ = -1;
    QTimer render_timer_;

    QVBoxLayout* layout_;
    QLabel* header_;
    QToolButton* reasoning_toggle_;
    QTextBrowser* reasoning_;
    QVBoxLayout* body_layout_;
    QVector<QWidget*> blocks_;
    QVector<QString> block_plain_;
    QTextBrowser* token_view_;
    QLabel* stats_;
    ErrorNotice* error_;
    QToolButton* retry_;
    QToolButton* regenerate_;
    QToolButton* tokens_;
    QToolButton* edit_;
    QToolButton* copy_;
    QWidget* editor_box_;
    QPlainTextEdit* editor_;
};

}  // namespace moe::ui
