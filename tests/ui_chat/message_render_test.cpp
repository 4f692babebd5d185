// How a message renders, without an engine: markdown split into prose and fenced code, the code
// box's Copy, the collapsible reasoning, the token view's anchors and the stats line.
#include <QClipboard>
#include <QGuiApplication>
#include <QTest>
#include <QTextBrowser>
#include <QToolButton>

#include "code_block_widget.h"
#include "markdown_blocks.h"
#include "message_widget.h"
#include "token_markup.h"

using namespace moe::ui;

class MessageRenderTest : public QObject {
    Q_OBJECT
private slots:
    void splitsProseAndFencedCode();
    void unclosedFenceRunsToTheEnd();
    void codeBlockHasMonospaceBoxAndCopy();
    void reasoningIsCollapsible();
    void tokenMarkupHasOneAnchorPerToken();
    void statsLineShowsTimings();
};

void MessageRenderTest::splitsProseAndFencedCode() {
    const QString md = QStringLiteral("Intro **bold**\n\n```cpp\nint x = 1;\n\nreturn x;\n```\nAfter\n~~~~\n``` not a close\n~~~~");
    const QVector<MarkdownBlock> blocks = splitMarkdownBlocks(md);
    QCOMPARE(blocks.size(), 4);
    QCOMPARE(blocks[0].kind, MarkdownBlock::Kind::Prose);
    QCOMPARE(blocks[0].text, QStringLiteral("Intro **bold**\n"));
    QCOMPARE(blocks[1].kind, MarkdownBlock::Kind::Code);
    QCOMPARE(blocks[1].language, QStringLiteral("cpp"));
    QCOMPARE(blocks[1].text, QStringLiteral("int x = 1;\n\nreturn x;"));
    QVERIFY(blocks[1].closed);
    QCOMPARE(blocks[2].text, QStringLiteral("After"));
    QCOMPARE(blocks[3].kind, MarkdownBlock::Kind::Code);
    QCOMPARE(blocks[3].text, QStringLiteral("``` not a close"));  // a ``` line cannot close a ~~~~ fence
}

void MessageRenderTest::unclosedFenceRunsToTheEnd() {
    const QVector<MarkdownBlock> blocks = splitMarkdownBlocks(QStringLiteral("Here:\n```python\nprint(1)\nprint(2"));
    QCOMPARE(blocks.size(), 2);
    QCOMPARE(blocks[1].text, QStringLiteral("print(1)\nprint(2"));
    QVERIFY(!blocks[1].closed);
}

void MessageRenderTest::codeBlockHasMonospaceBoxAndCopy() {
    MessageWidget w;
    ChatMessage m;
    m.role = QStringLiteral("assistant");
    m.content = QStringLiteral("Use this:\n\n```sh\nmoe-engine serve --demo\n```\n\nThen *chat*.");
    w.setMessage(m, false, true);
    const auto code = w.findChildren<CodeBlockWidget*>();
    QCOMPARE(code.size(), 1);
    QCOMPARE(code.first()->code(), QStringLiteral("moe-engine serve --demo"));
    code.first()->findChild<QToolButton*>(QStringLiteral("copyCodeButton"))->click();
    QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("moe-engine serve --demo"));
    // Prose went through the markdown renderer: the emphasis markers are gone.
    QVERIFY2(w.bodyText().contains(QStringLiteral("Then chat.")), qPrintable(w.bodyText()));
    QVERIFY(w.bodyText().contains(QStringLiteral("moe-engine serve --demo")));
}

void MessageRenderTest::reasoningIsCollapsible() {
    MessageWidget w;
    ChatMessage m;
    m.role = QStringLiteral("assistant");
    m.reasoning = QStringLiteral("The user wants a haiku; count syllables.");
    w.setMessage(m, true, true);  // streaming, no answer yet
    auto* toggle = w.findChild<QToolButton*>(QStringLiteral("reasoningToggle"));
    auto* text = w.findChild<QTextBrowser*>(QStringLiteral("reasoningText"));
    // The coalesced render comes ~33 ms later (longer on a loaded machine).
    QTRY_VERIFY(toggle->text().startsWith(QStringLiteral("Thinking")));
    QVERIFY(!toggle->isHidden());
    QVERIFY(text->isHidden());  // collapsed by default
    toggle->click();
    QVERIFY(!text->isHidden());
    QCOMPARE(text->toPlainText(), m.reasoning);
    m.content = QStringLiteral("Packets drift");
    w.setMessage(m, false, true);
    QVERIFY(toggle->text().startsWith(QStringLiteral("Reasoning")));
    toggle->click();
    QVERIFY(text->isHidden());
}

void MessageRenderTest::tokenMarkupHasOneAnchorPerToken() {
    const QVector<CompletionToken> tokens = {{5, QStringLiteral("a<b")}, {6, QStringLiteral(" c\n")}, {7, QString()}};
    const QString html = tokenMarkup(tokens, 1);
    QCOMPARE(html.count(QStringLiteral("<a href=\"tok:")), 3);
    QVERIFY(html.contains(QStringLiteral("a&lt;b")));     // escaped
    QVERIFY(html.contains(QStringLiteral("&nbsp;c↵<br>")));  // visible whitespace
    QCOMPARE(tokenIndexFromAnchor(QStringLiteral("tok:2")), 2);
    QCOMPARE(tokenIndexFromAnchor(QStringLiteral("https://x")), -1);
    QCOMPARE(tokenIndexFromAnchor(QStringLiteral("tok:-1")), -1);
}

void MessageRenderTest::statsLineShowsTimings() {
    MessageWidget w;
    ChatMessage m;
    m.role = QStringLiteral("assistant");
    m.content = QStringLiteral("ok");
    m.time_to_first_token_ms = 42.4;
    m.tokens_per_second = 123.45;
    m.completion_tokens = 7;
    m.finish_reason = QStringLiteral("stop");
    w.setMessage(m, false, false);
    QCOMPARE(w.statsText(), QStringLiteral("first token after 42 ms · 123.5 tokens/s · 7 tokens · finished"));
    m.finish_reason = QStringLiteral("length");
    w.setMessage(m, false, false);
    QVERIFY(w.statsText().endsWith(QStringLiteral("stopped at the reply length limit")));
}

QTEST_MAIN(MessageRenderTest)
#include "message_render_test.moc"
