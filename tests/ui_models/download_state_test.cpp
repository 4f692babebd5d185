// The download state machine: every allowed transition, and the events each state must refuse
// (the views disable those buttons).
#include <QtTest>

#include "models/download_state.h"

using namespace moe::ui::models;
using S = DownloadState;
using E = DownloadEvent;

Q_DECLARE_METATYPE(moe::ui::models::DownloadState)
Q_DECLARE_METATYPE(moe::ui::models::DownloadEvent)

class DownloadStateTest : public QObject {
    Q_OBJECT
private slots:
    void allowed_data() {
        QTest::addColumn<S>("from");
        QTest::addColumn<E>("event");
        QTest::addColumn<S>("to");
        QTest::newRow("start") << S::Queued << E::Start << S::Downloading;
        QTest::newRow("pause queued") << S::Queued << E::Pause << S::Paused;
        QTest::newRow("cancel queued") << S::Queued << E::Cancel << S::Cancelled;
        QTest::newRow("all bytes") << S::Downloading << E::AllBytesReceived << S::Verifying;
        QTest::newRow("done") << S::Verifying << E::Finished << S::Done;
        QTest::newRow("done without verifying step") << S::Downloading << E::Finished << S::Done;
        QTest::newRow("error") << S::Downloading << E::Error << S::Failed;
        QTest::newRow("unexpected exit") << S::Downloading << E::Exited << S::Failed;
        QTest::newRow("exit while verifying") << S::Verifying << E::Exited << S::Failed;
        QTest::newRow("pause") << S::Downloading << E::Pause << S::Pausing;
        QTest::newRow("pause verifying") << S::Verifying << E::Pause << S::Pausing;
        QTest::newRow("paused once exited") << S::Pausing << E::Exited << S::Paused;
        QTest::newRow("finished before the pause arrived") << S::Pausing << E::Finished << S::Done;
        QTest::newRow("resume") << S::Paused << E::Resume << S::Queued;
        QTest::newRow("cancel paused") << S::Paused << E::Cancel << S::Cancelled;
        QTest::newRow("cancel running") << S::Downloading << E::Cancel << S::Cancelling;
        QTest::newRow("cancel pausing") << S::Pausing << E::Cancel << S::Cancelling;
        QTest::newRow("cancelled once exited") << S::Cancelling << E::Exited << S::Cancelled;
        QTest::newRow("done while cancelling stays cancelling") << S::Cancelling << E::Finished << S::Cancelling;
        QTest::newRow("retry failed") << S::Failed << E::Retry << S::Queued;
        QTest::newRow("retry cancelled") << S::Cancelled << E::Retry << S::Queued;
        QTest::newRow("exit after error") << S::Failed << E::Exited << S::Failed;
        QTest::newRow("exit after done") << S::Done << E::Exited << S::Done;
    }
    void allowed() {
        QFETCH(S, from);
        QFETCH(E, event);
        QFETCH(S, to);
        const std::optional<S> next = next_state(from, event);
        QVERIFY(next.has_value());
        QCOMPARE(state_name(*next), state_name(to));
    }

    void refused_data() {
        QTest::addColumn<S>("from");
        QTest::addColumn<E>("event");
        QTest::newRow("resume running") << S::Downloading << E::Resume;
        QTest::newRow("retry running") << S::Downloading << E::Retry;
        QTest::newRow("start running") << S::Downloading << E::Start;
        QTest::newRow("resume while pausing") << S::Pausing << E::Resume;  // the old child must exit first
        QTest::newRow("pause paused") << S::Paused << E::Pause;
        QTest::newRow("retry paused") << S::Paused << E::Retry;
        QTest::newRow("resume queued") << S::Queued << E::Resume;
        QTest::newRow("retry queued") << S::Queued << E::Retry;
        QTest::newRow("pause done") << S::Done << E::Pause;
        QTest::newRow("cancel done") << S::Done << E::Cancel;
        QTest::newRow("retry done") << S::Done << E::Retry;
        QTest::newRow("pause failed") << S::Failed << E::Pause;
        QTest::newRow("resume failed") << S::Failed << E::Resume;
        QTest::newRow("resume cancelled") << S::Cancelled << E::Resume;
        QTest::newRow("cancel cancelled") << S::Cancelled << E::Cancel;
        QTest::newRow("retry while cancelling") << S::Cancelling << E::Retry;
    }
    void refused() {
        QFETCH(S, from);
        QFETCH(E, event);
        QVERIFY(!next_state(from, event).has_value());
    }

    void processStates() {
        for (S s : {S::Downloading, S::Verifying, S::Pausing, S::Cancelling}) QVERIFY(has_process(s));
        for (S s : {S::Queued, S::Paused, S::Cancelled, S::Done, S::Failed}) QVERIFY(!has_process(s));
        for (S s : {S::Done, S::Failed, S::Cancelled}) QVERIFY(!is_active(s));
    }
};

int run_download_state_tests(int argc, char** argv) {
    DownloadStateTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "download_state_test.moc"
