// Issue #14 items 2 and 3: a network failure in the hub search read "[hub.network] (hub.network)",
// and its long URL widened the window past the screen. Every error now says what happened and what
// to do in plain words, keeps the technical text one click away, and wraps.
#include <QLabel>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtTest>

#include "error_notice.h"
#include "user_error.h"

using namespace moe::ui;

namespace {

// What the engine really prints for a hub search without network (engine/hub/hub_errors.cpp +
// moe::Error's "[code]" suffix), as the Models panel received it.
const QString kNetworkFailure = QStringLiteral(
    "https://huggingface.co/api/models?search=deepseek&filter=deepseek_v3&sort=downloads&direction=-1&limit=50&"
    "full=true&config=true: network error while fetching the search results: Could not resolve host: "
    "huggingface.co [hub.network]");

}  // namespace

class ErrorTextTest : public QObject {
    Q_OBJECT
private slots:
    void knownFailuresSayWhatHappenedAndWhatToDo_data() {
        QTest::addColumn<QString>("detail");
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("action");
        QTest::newRow("hub unreachable") << kNetworkFailure << "the model hub could not be reached"
                                         << "Check the internet connection";
        QTest::newRow("gated") << "https://huggingface.co/api/models/x/y/tree/main: 403: x/y is gated [hub.gated]"
                               << "this model is gated" << "accept the terms";
        QTest::newRow("rate limited") << "429: the hub rate-limited the file list; try again later [hub.rate_limited]"
                                      << "the hub is limiting" << "Wait a minute";
        QTest::newRow("disk full") << "/cache/blobs/ab.incomplete: No space left on device [hub.disk_full]"
                                   << "the disk is full" << "Free some space";
        QTest::newRow("context") << "HTTP 400 context_length_exceeded: prompt (900) + max_tokens (200) exceed the "
                                    "context (1024) (param max_tokens) — POST http://127.0.0.1:4000/v1/chat/completions"
                                 << "no longer fit" << "Start a new chat";
        QTest::newRow("api key") << "HTTP 401 invalid_api_key: missing or wrong bearer token — POST http://h:8000/v1/chat/completions"
                                 << "the server refused the API key" << "Connection › Connect to server";
        QTest::newRow("engine gone") << "cannot reach POST http://127.0.0.1:4000/v1/chat/completions: Connection refused"
                                     << "the engine did not answer" << "wait a moment";
        QTest::newRow("bad setting") << "HTTP 400 invalid_value: temperature must be in [0, 2] (param temperature) — "
                                        "POST http://127.0.0.1:4000/v1/chat/completions"
                                     << "refused one of the request's settings" << "press Retry";
        QTest::newRow("no routing") << "HTTP 400 unsupported: return_routed_experts needs an MoE model (param "
                                       "return_routed_experts) — POST http://h/v1/chat/completions"
                                    << "does not report which experts" << "Record expert routing";
        QTest::newRow("broken checkpoint") << "HTTP 422 checkpoint.missing_tensor: model.layers.3.mlp.gate.weight is "
                                              "missing — POST http://127.0.0.1:4000/workbench/v1/models/load"
                                           << "damaged or not in a form" << "download it again";
        QTest::newRow("no engine program") << "cannot start /opt/moe/moe-engine: No such file or directory"
                                           << "could not be started" << "MOE_ENGINE_BIN";
        QTest::newRow("interrupted") << "Interrupted: the engine stopped (killed by signal 9). The text so far is kept; "
                                        "Retry asks again."
                                     << "cut off because the engine stopped" << "Retry";
    }

    void knownFailuresSayWhatHappenedAndWhatToDo() {
        QFETCH(QString, detail);
        QFETCH(QString, what);
        QFETCH(QString, action);
        const UserError error = explainError(detail);
        QVERIFY2(error.what.contains(what), qPrintable(error.what));
        QVERIFY2(error.action.contains(action, Qt::CaseInsensitive), qPrintable(error.action));
        QCOMPARE(error.detail, detail);  // nothing of the technical text is lost
        // The line a user reads holds no machine codes, URLs or HTTP jargon.
        const QString line = error.text();
        for (const char* code : {"[hub.", "(hub.", "hub.network", "HTTP 4", "http://", "https://", "_exceeded", "invalid_"})
            QVERIFY2(!line.contains(QLatin1String(code)), qPrintable(QStringLiteral("%1 in: %2").arg(code, line)));
        QVERIFY(line.endsWith(QLatin1Char('.')) || line.endsWith(QStringLiteral("…")));
    }

    void anUnknownFailureStillSaysWhereToLook() {
        const UserError error = explainError(QStringLiteral("frobnication overflow"), QStringLiteral("Search"));
        QCOMPARE(error.what, QStringLiteral("something went wrong"));
        QVERIFY(error.text().startsWith(QStringLiteral("Search failed: something went wrong.")));
        QVERIFY(error.text().contains(QStringLiteral("details")));
        QCOMPARE(error.detail, QStringLiteral("frobnication overflow"));
    }

    void theActivityLeadsTheLine() {
        QCOMPARE(explainError(kNetworkFailure, QStringLiteral("Search")).text(),
                 QStringLiteral("Search failed: the model hub could not be reached. Check the internet connection (and "
                                "the Endpoint in the Hub settings, if you changed it), then try again."));
        QVERIFY(explainError(kNetworkFailure).text().startsWith(QStringLiteral("The model hub could not be reached.")));
    }

    void longRunsGetBreakOpportunities() {
        const QString url(300, QLatin1Char('x'));
        const QString broken = breakable(url);
        QVERIFY(broken.count(QChar(0x200B)) >= 300 / 24);
        QCOMPARE(QString(broken).remove(QChar(0x200B)), url);
        QCOMPARE(breakable(QStringLiteral("short words stay as they are")), QStringLiteral("short words stay as they are"));
    }

    // The notice: plain words shown, the detail behind "Details", and a 200-character URL that
    // cannot make it (or its parent) wider than the space it is given.
    void noticeWrapsAndHidesTheDetail() {
        QWidget host;
        auto* layout = new QVBoxLayout(&host);
        auto* notice = new ErrorNotice(&host);
        layout->addWidget(notice);
        host.resize(320, 200);
        host.show();
        QVERIFY(QTest::qWaitForWindowExposed(&host));
        QVERIFY(notice->isHidden());
        notice->showError(kNetworkFailure, QStringLiteral("Search"));
        QVERIFY(!notice->isHidden());
        QVERIFY(notice->text().startsWith(QStringLiteral("Search failed: the model hub could not be reached.")));
        QCOMPARE(notice->detail(), kNetworkFailure);
        QVERIFY(!notice->detailsOpen());
        auto* details = notice->findChild<QPlainTextEdit*>(QStringLiteral("errorNoticeDetails"));
        QVERIFY(details->isHidden());
        notice->findChild<QToolButton*>(QStringLiteral("errorNoticeDetailsButton"))->click();
        QVERIFY(notice->detailsOpen());
        QVERIFY(!details->isHidden());
        QVERIFY(details->isReadOnly());
        QVERIFY(notice->fullText().contains(QStringLiteral("[hub.network]")));
        // Wrapping, not widening: the notice and its window fit 320 px.
        QVERIFY2(notice->minimumSizeHint().width() <= 320, qPrintable(QString::number(notice->minimumSizeHint().width())));
        QVERIFY2(host.minimumSizeHint().width() <= 320, qPrintable(QString::number(host.minimumSizeHint().width())));
        QTest::qWait(50);
        QCOMPARE(host.width(), 320);
        QVERIFY(notice->findChild<QLabel*>(QStringLiteral("errorNoticeText"))->width() <= 320);

        notice->showNotice(QStringLiteral("No models match \"zzz\"."));
        QVERIFY(notice->findChild<QToolButton*>(QStringLiteral("errorNoticeDetailsButton"))->isHidden());
        QCOMPARE(notice->fullText(), QStringLiteral("No models match \"zzz\"."));
        notice->clear();
        QVERIFY(notice->isHidden());
        QCOMPARE(notice->text(), QString());
    }
};

QTEST_MAIN(ErrorTextTest)
#include "error_text_test.moc"
