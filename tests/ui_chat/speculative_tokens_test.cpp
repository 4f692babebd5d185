// Issue #13 item 4, the chat's side of speculative decoding, on canned data: the "Speculative decoding
// (MTP)" toggle sends "speculative": true (and cannot for a model without MTP modules), a reply's
// workbench.speculative.drafted_tokens marks exactly those tokens as drafted, the Tokens view tints
// exactly them (with a legend), the stats line counts them, and the flags survive the database.
#include <QCheckBox>
#include <QJsonArray>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include "completion_stream.h"
#include "message_widget.h"
#include "routing_codec.h"
#include "sampling_controls.h"
#include "token_markup.h"

using namespace moe::ui;

namespace {

const QVector<bool> kDrafted = {false, true, true, false, true, false};

// The finishing chunk of a streamed speculative chat reply with its tokens (docs/api.md).
QJsonObject finalChunk() {
    QJsonArray tokens, flags;
    for (int i = 0; i < kDrafted.size(); ++i) {
        tokens.append(QJsonObject{{"id", 100 + i}, {"text", QStringLiteral("t%1 ").arg(i)}});
        flags.append(kDrafted[i]);
    }
    const QJsonObject speculative{{"enabled", true}, {"draft_tokens", 1}, {"reason", QJsonValue()},
                                  {"warning", QJsonValue()}, {"drafted_tokens", flags}};
    const QJsonObject workbench{{"time_to_first_token_ms", 12.0}, {"decode_tokens_per_second", 300.0},
                                {"completion_tokens", tokens}, {"speculative", speculative}};
    const QJsonObject choice{{"index", 0}, {"delta", QJsonObject{}}, {"finish_reason", "length"}};
    return QJsonObject{{"object", "chat.completion.chunk"}, {"choices", QJsonArray{choice}}, {"workbench", workbench}};
}

QVector<CompletionToken> parsedTokens() {
    CompletionStream stream;
    stream.consume(finalChunk());
    return stream.result().tokens;
}

// The background of every "tok:<i>" anchor, by index.
QVector<QString> backgrounds(const QString& html) {
    QVector<QString> out;
    static const QRegularExpression anchor(QStringLiteral("<a href=\"tok:(\\d+)\"[^>]*background-color:(#[0-9a-f]+);"));
    for (auto it = anchor.globalMatch(html); it.hasNext();) {
        const auto m = it.next();
        const int index = m.captured(1).toInt();
        if (out.size() <= index) out.resize(index + 1);
        out[index] = m.captured(2);
    }
    return out;
}

bool isDraftTint(const QString& colour) {
    return colour == QLatin1String(kDraftedTokenBackgrounds[0]) || colour == QLatin1String(kDraftedTokenBackgrounds[1]);
}

}  // namespace

class SpeculativeTokensTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void toggleSendsSpeculativeOnlyWithMtpModules() {
        SamplingControls controls;
        auto* box = controls.findChild<QCheckBox*>(QStringLiteral("samplingSpeculative"));
        QVERIFY(box);
        QCOMPARE(box->text(), QStringLiteral("Speculative decoding (MTP)"));
        QSignalSpy changed(&controls, &SamplingControls::changed);
        controls.setMtpModules(1);  // the demo model
        QVERIFY(!changed.isEmpty());  // the chat takes the new options into its next request
        QVERIFY(box->isEnabled());
        controls.setSpeculative(false);
        QVERIFY(!controls.requestOptions().contains(QStringLiteral("speculative")));
        box->setChecked(true);
        QCOMPARE(controls.requestOptions().value(QStringLiteral("speculative")), QJsonValue(true));

        controls.setMtpModules(0);  // a model without MTP modules
        QVERIFY(!box->isEnabled());
        QVERIFY(!controls.speculativeAvailable());
        QVERIFY2(box->toolTip().contains(QStringLiteral("no MTP modules")) &&
                     box->toolTip().contains(QStringLiteral("moe-engine train --method mtp-head")),
                 qPrintable(box->toolTip()));
        QVERIFY(!controls.requestOptions().contains(QStringLiteral("speculative")));
        controls.setMtpModules(-1);  // no model, or a server that does not say
        QVERIFY(!box->isEnabled());
        controls.setMtpModules(2);  // the user's choice comes back with a model that can draft
        QCOMPARE(controls.requestOptions().value(QStringLiteral("speculative")), QJsonValue(true));

        SamplingControls reopened;  // remembered like the other settings
        reopened.setMtpModules(1);
        QCOMPARE(reopened.requestOptions().value(QStringLiteral("speculative")), QJsonValue(true));
        reopened.setSpeculative(false);
    }

    void draftedFlagsComeFromTheReply() {
        const QVector<CompletionToken> tokens = parsedTokens();
        QCOMPARE(tokens.size(), kDrafted.size());
        for (int i = 0; i < tokens.size(); ++i) QCOMPARE(tokens[i].drafted, kDrafted[i]);
        QCOMPARE(draftedTokenCount(tokens), 3);
    }

    void tintMarksExactlyTheDraftedTokens() {
        const QVector<CompletionToken> tokens = parsedTokens();
        const QVector<QString> colours = backgrounds(tokenMarkup(tokens));
        QCOMPARE(colours.size(), tokens.size());
        for (int i = 0; i < tokens.size(); ++i) QVERIFY2(isDraftTint(colours[i]) == kDrafted[i], qPrintable(QString::number(i)));
        // Neighbouring drafted tokens (1 and 2) still show where one ends.
        QVERIFY(colours[1] != colours[2]);
        // The selected token is highlighted whatever its origin.
        QCOMPARE(backgrounds(tokenMarkup(tokens, 1))[1], QString::fromLatin1(kSelectedTokenBackground));

        const QString view = tokenViewMarkup(tokens);
        QVERIFY2(view.contains(QStringLiteral("(3 of 6)")), qPrintable(view));
        QVERIFY(view.contains(QStringLiteral("drafted ahead by the MTP module and kept by the model")));
        QVERIFY(tokenMarkup(tokens).contains(QStringLiteral("token 4, id 104 — drafted ahead")));
        QVERIFY(tokenMarkup(tokens).contains(QStringLiteral("token 3, id 103 — chosen by the model itself")));

        // A reply without speculation: no tint, no legend, the plain titles.
        QVector<CompletionToken> plain = tokens;
        for (CompletionToken& t : plain) t.drafted = false;
        QCOMPARE(tokenViewMarkup(plain), tokenMarkup(plain));
        for (const QString& c : backgrounds(tokenMarkup(plain))) QVERIFY(!isDraftTint(c));
        QVERIFY(tokenMarkup(plain).contains(QStringLiteral("title=\"token 0, id 100\"")));
    }

    void statsLineCountsDraftedTokens() {
        MessageWidget w;
        ChatMessage m;
        m.role = QStringLiteral("assistant");
        m.content = QStringLiteral("t0 t1 t2 t3 t4 t5");
        m.completion_tokens = 6;
        m.finish_reason = QStringLiteral("length");
        m.tokens = parsedTokens();
        w.setMessage(m, false, false);
        QVERIFY2(w.statsText().contains(QStringLiteral("6 tokens · 3 drafted ahead and kept (speculative decoding)")),
                 qPrintable(w.statsText()));
    }

    void flagsSurviveTheDatabase() {
        const QVector<CompletionToken> tokens = parsedTokens();
        const QVector<CompletionToken> back = decodeTokens(encodeTokens(tokens));
        QCOMPARE(back.size(), tokens.size());
        for (int i = 0; i < back.size(); ++i) {
            QCOMPARE(back[i].id, tokens[i].id);
            QCOMPARE(back[i].text, tokens[i].text);
            QCOMPARE(back[i].drafted, kDrafted[i]);
        }
        // Conversations saved before speculation existed ([id, text]) read as not drafted.
        QCOMPARE(decodeTokens(QStringLiteral("[[5,\"a\"]]")).first().drafted, false);
    }
};

QTEST_MAIN(SpeculativeTokensTest)
#include "speculative_tokens_test.moc"
