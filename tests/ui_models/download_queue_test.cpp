// DownloadQueue, DownloadsView and SearchView against fake_engine.sh, a scripted stand-in that prints
// canned lines of moe-engine's JSON contract (real processes, real signals, real SIGTERM; only the
// hub behind them is scripted). The real engine + fake hub run in ui_models_e2e.
#include <QDir>
#include <QFile>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "models/download_queue.h"
#include "models/downloads_view.h"
#include "models/engine_runner.h"
#include "models/search_view.h"

using namespace moe::ui::models;

namespace {
constexpr int kTimeoutMs = 10000;
const QString kSha = QStringLiteral("0123456789abcdef0123456789abcdef01234567");
}  // namespace

class DownloadQueueTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    QString engine_;
    QString log_;
    QString cache_;

    QProcessEnvironment environment() const {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("FAKE_ENGINE_LOG"), log_);
        return env;
    }
    void setUpQueue(DownloadQueue& queue) const { queue.setEngine(engine_, environment(), cache_, cache_); }
    QStringList runs() const {
        QFile file(log_);
        if (!file.open(QIODevice::ReadOnly)) return {};
        return QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    }
    DownloadState state(const DownloadQueue& queue, int id) const { return queue.job(id)->state; }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        // A copy with the execute bit set, whatever the checkout did to the original's mode.
        engine_ = dir_.filePath(QStringLiteral("moe-engine"));
        QVERIFY(QFile::copy(QStringLiteral(MOE_FAKE_ENGINE_SCRIPT), engine_));
        QVERIFY(QFile::setPermissions(engine_, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
        cache_ = dir_.filePath(QStringLiteral("hub"));
    }
    void init() { QFile::remove(log_ = dir_.filePath(QStringLiteral("runs.log"))); }

    void downloadRunsToDone() {
        DownloadQueue queue;
        setUpQueue(queue);
        QSignalSpy finished(&queue, &DownloadQueue::jobFinished);
        QStringList seen;  // every state the job passed through, in order
        connect(&queue, &DownloadQueue::jobChanged, this, [&](int changed) {
            const QString name = state_name(queue.job(changed)->state);
            if (seen.isEmpty() || seen.last() != name) seen << name;
        });
        const int id = queue.enqueue(QStringLiteral("ok/model"), kSha, {QStringLiteral("model[*].safetensors")});
        QVERIFY(id > 0);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        QCOMPARE(finished[0][0].toInt(), id);
        QCOMPARE(finished[0][1].toString(), QString("/tmp/snapshots/ok-model"));
        const DownloadJob* job = queue.job(id);
        QCOMPARE(state_name(job->state), state_name(DownloadState::Done));
        QCOMPARE(job->bytes_done, 1000);
        QCOMPARE(job->bytes_total, 1000);
        QCOMPARE(job->files_done, 2);
        QCOMPARE(job->files_total, 2);
        QCOMPARE(seen, (QStringList{"downloading", "verifying", "done"}));
        QTRY_COMPARE_WITH_TIMEOUT(queue.runningCount(), 0, kTimeoutMs);
        QCOMPARE(runs(), QStringList{"download ok/model --json --revision " + kSha +
                                     " --include model[*].safetensors --cache-dir " + cache_});
    }

    void pauseResumeCancel() {
        // Partial blobs of this repository and of another one, plus a verified blob.
        const QString blobs = cache_ + "/models--slow--model/blobs";
        const QString other = cache_ + "/models--slow--other/blobs";
        QVERIFY(QDir().mkpath(blobs) && QDir().mkpath(other));
        for (const QString& path : {blobs + "/aa.incomplete", blobs + "/bb", other + "/cc.incomplete"}) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("partial");
        }

        DownloadQueue queue;
        setUpQueue(queue);
        const int id = queue.enqueue(QStringLiteral("slow/model"), kSha, {});
        QTRY_VERIFY_WITH_TIMEOUT(queue.job(id)->bytes_done > 3, kTimeoutMs);
        QCOMPARE(state(queue, id), DownloadState::Downloading);
        QVERIFY(!queue.resume(id));  // refused while running

        QVERIFY(queue.pause(id));
        QCOMPARE(state(queue, id), DownloadState::Pausing);
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Paused, kTimeoutMs);
        QCOMPARE(queue.runningCount(), 0);
        QVERIFY(queue.job(id)->error.isEmpty());  // exit 130 after a pause is not a failure
        QVERIFY(QFile::exists(blobs + "/aa.incomplete"));  // pause keeps resumable state

        QVERIFY(queue.resume(id));
        QCOMPARE(state(queue, id), DownloadState::Downloading);  // a free slot: started at once
        QTRY_COMPARE_WITH_TIMEOUT(runs().size(), 2, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(queue.job(id)->bytes_done > 3, kTimeoutMs);

        QVERIFY(queue.cancel(id));
        QCOMPARE(state(queue, id), DownloadState::Cancelling);
        QVERIFY(QFile::exists(blobs + "/aa.incomplete"));  // not while the child may still write
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Cancelled, kTimeoutMs);
        QVERIFY(!QFile::exists(blobs + "/aa.incomplete"));
        QVERIFY(QFile::exists(blobs + "/bb"));                // verified content stays
        QVERIFY(QFile::exists(other + "/cc.incomplete"));     // other repositories are untouched
    }

    void failureShowsTheMessageAndRetryRunsAgain() {
        DownloadQueue queue;
        setUpQueue(queue);
        const int id = queue.enqueue(QStringLiteral("fail/model"), kSha, {});
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Failed, kTimeoutMs);
        QVERIFY2(queue.job(id)->error.contains("is gated") && queue.job(id)->error.contains("hub.gated"),
                 qPrintable(queue.job(id)->error));
        QTRY_COMPARE_WITH_TIMEOUT(queue.runningCount(), 0, kTimeoutMs);
        QVERIFY(queue.retry(id));
        QTRY_COMPARE_WITH_TIMEOUT(runs().size(), 2, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Failed, kTimeoutMs);
    }

    void exitWithoutDoneIsAFailureWithStderr() {
        DownloadQueue queue;
        setUpQueue(queue);
        const int id = queue.enqueue(QStringLiteral("crash/model"), kSha, {});
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Failed, kTimeoutMs);
        const QString error = queue.job(id)->error;
        QVERIFY2(error.contains("exited with code 3") && error.contains("simulated crash"), qPrintable(error));
    }

    void missingEngineFails() {
        DownloadQueue queue;
        queue.setEngine(dir_.filePath("no-such-engine"), environment(), {}, cache_);
        const int id = queue.enqueue(QStringLiteral("ok/model"), kSha, {});
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, id), DownloadState::Failed, kTimeoutMs);
        QVERIFY2(queue.job(id)->error.contains("no-such-engine"), qPrintable(queue.job(id)->error));
    }

    void atMostMaxParallelRun() {
        DownloadQueue queue;
        setUpQueue(queue);
        const int a = queue.enqueue("slow/a", kSha, {}), b = queue.enqueue("slow/b", kSha, {}), c = queue.enqueue("slow/c", kSha, {});
        QCOMPARE(queue.runningCount(), 1);
        QCOMPARE(state(queue, a), DownloadState::Downloading);
        QCOMPARE(state(queue, b), DownloadState::Queued);
        QCOMPARE(state(queue, c), DownloadState::Queued);
        QCOMPARE(queue.enqueue("slow/b", kSha, {}), b);  // the live download of a repository is reused

        queue.setMaxParallel(2);
        QCOMPARE(state(queue, b), DownloadState::Downloading);
        QCOMPARE(state(queue, c), DownloadState::Queued);

        QVERIFY(queue.pause(a));  // c starts only once a's child has gone
        QCOMPARE(state(queue, c), DownloadState::Queued);
        QTRY_COMPARE_WITH_TIMEOUT(state(queue, c), DownloadState::Downloading, kTimeoutMs);
        QCOMPARE(state(queue, a), DownloadState::Paused);
        QCOMPARE(queue.runningCount(), 2);

        for (int id : {a, b, c}) queue.cancel(id);
        QTRY_COMPARE_WITH_TIMEOUT(queue.runningCount(), 0, kTimeoutMs);
        for (int id : {a, b, c}) QCOMPARE(state(queue, id), DownloadState::Cancelled);
    }

    void invalidRepositoryIsRefused() {
        DownloadQueue queue;
        setUpQueue(queue);
        for (const char* bad : {"../etc", "/abs/path", "a/b/c", "org/..", "", "a\\b"}) {
            QString error;
            QCOMPARE(queue.enqueue(QString::fromLatin1(bad), kSha, {}, &error), -1);
            QVERIFY(error.contains("not a hub repository id"));
        }
        QCOMPARE(runs().size(), 0);
    }

    void viewFollowsTheQueue() {
        DownloadQueue queue;
        setUpQueue(queue);
        DownloadsView view(&queue);
        const int id = queue.enqueue(QStringLiteral("slow/model"), kSha, {});
        QVERIFY(view.rowOf(id) >= 0);
        auto button = [&](const char* name) {
            return view.findChildren<QPushButton*>(QLatin1String(name)).value(0);
        };
        QTRY_VERIFY_WITH_TIMEOUT(view.stateText(id).startsWith("downloading"), kTimeoutMs);
        QVERIFY(button("Pause")->isEnabled());
        QVERIFY(!button("Resume")->isEnabled());
        QVERIFY(!button("Retry")->isEnabled());
        button("Pause")->click();
        QTRY_COMPARE_WITH_TIMEOUT(view.stateText(id), QString("paused"), kTimeoutMs);
        QVERIFY(button("Resume")->isEnabled());
        QVERIFY(!button("Pause")->isEnabled());
        button("Cancel")->click();
        QTRY_COMPARE_WITH_TIMEOUT(view.stateText(id), QString("cancelled"), kTimeoutMs);
        QVERIFY(button("Retry")->isEnabled());
        QVERIFY(!button("Cancel")->isEnabled());
    }

    void searchShowsResultsAndInlineErrors() {
        SearchView view;
        view.setRunner(EngineRunner{engine_, environment(), {}});
        QSignalSpy done(&view, &SearchView::searchFinished);

        view.search(QStringLiteral("deepseek"), QStringLiteral("deepseek_v3"));
        QVERIFY(view.isBusy());
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kTimeoutMs);
        QVERIFY(done[0][0].toBool());
        QCOMPARE(view.resultCount(), 2);
        QVERIFY(view.errorText().isEmpty());
        QVERIFY(runs().last().endsWith("hub search deepseek --json --arch deepseek_v3"));

        view.search(QStringLiteral("badjson"));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, kTimeoutMs);
        QVERIFY(!done[1][0].toBool());
        QVERIFY2(view.errorText().contains("not JSON") && view.errorText().contains("this is not json"),
                 qPrintable(view.errorText()));

        view.search(QStringLiteral("fails"));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 3, kTimeoutMs);
        QVERIFY2(view.errorText().contains("connection refused") && view.errorText().contains("hub.unreachable"),
                 qPrintable(view.errorText()));
    }
};

QTEST_MAIN(DownloadQueueTest)
#include "download_queue_test.moc"
