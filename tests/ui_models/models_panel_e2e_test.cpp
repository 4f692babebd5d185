// The Models panel end to end: the real moe-engine (hub search / files / download / scan) against
// moe-fake-hub, the project's fake hub on 127.0.0.1, throttled so that a download can be paused and
// resumed halfway. Search → open the repository → download into a temporary HF_HOME → pause →
// resume → done → the library lists the snapshot → Load emits loadRequested with it.
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QSettings>
#include <QProcess>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "models/download_queue.h"
#include "models/downloads_view.h"
#include "models/estimate_view.h"
#include "models/library_view.h"
#include "models/models_panel.h"
#include "models/repo_view.h"
#include "models/search_view.h"

using namespace moe::ui;
using namespace moe::ui::models;

namespace {
constexpr int kTimeoutMs = 30000;
const QString kRepo = QStringLiteral("moe-test/tiny-deepseek");
// ~5.6 MB of safetensors at 2 MB/s: about 3 s, long enough to pause in the middle.
const QString kThrottleBps = QStringLiteral("2000000");
// With MOE_SCREENSHOT_DIR set (docs, manual checks), the panel's tabs are saved there as PNG.
void save_screenshot(ModelsPanel& panel, int tab, const QString& name) {
    const QString dir = qEnvironmentVariable("MOE_SCREENSHOT_DIR");
    if (dir.isEmpty()) return;
    panel.findChild<QTabWidget*>()->setCurrentIndex(tab);
    QTest::qWait(100);  // let the layout settle
    panel.grab().save(QDir(dir).filePath(name + QStringLiteral(".png")));
}

}  // namespace

class ModelsPanelEndToEnd : public QObject {
    Q_OBJECT
private:
    QTemporaryDir home_;
    QProcess hub_;
    QString endpoint_;

private slots:
    void initTestCase() {
#ifndef MOE_FAKE_HUB_BIN
        QSKIP("moe-fake-hub is not built (no libcurl: the engine has no hub client)");
#else
        QVERIFY(home_.isValid());
        // Settings and the hub cache of this run only.
        qputenv("XDG_CONFIG_HOME", QFile::encodeName(home_.filePath("config")));
        qputenv("HF_HOME", QFile::encodeName(home_.filePath("hf")));
        qunsetenv("HF_HUB_CACHE");
        qunsetenv("HF_TOKEN");
        QCoreApplication::setOrganizationName(QStringLiteral("moe-models-e2e"));

        hub_.setProgram(QStringLiteral(MOE_FAKE_HUB_BIN));
        hub_.setArguments({QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--throttle"), kThrottleBps});
        hub_.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        hub_.start();
        QVERIFY2(hub_.waitForStarted(kTimeoutMs), qPrintable(hub_.errorString()));
        QTRY_VERIFY_WITH_TIMEOUT(hub_.canReadLine(), kTimeoutMs);
        const QJsonObject listening = QJsonDocument::fromJson(hub_.readLine()).object();
        QCOMPARE(listening.value("event").toString(), QString("listening"));
        endpoint_ = QStringLiteral("http://127.0.0.1:%1").arg(listening.value("port").toInt());
#endif
    }

    void cleanupTestCase() {
        if (hub_.state() == QProcess::NotRunning) return;
        hub_.terminate();
        if (!hub_.waitForFinished(5000)) hub_.kill();
    }

    void searchDownloadPauseResumeLoad() {
        ModelsPanel panel;
        panel.resize(1280, 820);
        panel.show();
        panel.setEngineProgram(QStringLiteral(MOE_ENGINE_BIN));
        panel.setHubSettings(endpoint_, QString(), QString());
        QSignalSpy load_requests(&panel, &ModelsPanel::loadRequested);

        // Search, filtered to the architecture.
        SearchView* search = panel.searchView();
        QSignalSpy searched(search, &SearchView::searchFinished);
        search->search(QStringLiteral("tiny"), QStringLiteral("deepseek_v3"));
        QTRY_COMPARE_WITH_TIMEOUT(searched.count(), 1, kTimeoutMs);
        QVERIFY2(searched[0][0].toBool(), qPrintable(search->errorText()));
        // "tiny" matches both DeepSeek-V3 repositories and both Qwen2 ones; the filter keeps the former.
        QStringList ids;
        for (int i = 0; i < search->resultCount(); ++i) ids << search->resultId(i);
        QVERIFY2(ids.contains(kRepo), qPrintable(ids.join(u',')));
        QVERIFY2(!ids.contains(QStringLiteral("moe-test/tiny-qwen")), qPrintable(ids.join(u',')));
        QVERIFY2(!ids.contains(QStringLiteral("moe-test/qwen2-tiny")), qPrintable(ids.join(u',')));

        // Open it: files pinned to a commit, pickle shown but not selectable, an estimate.
        RepositoryView* repo = panel.repositoryView();
        QSignalSpy listed(repo, &RepositoryView::filesLoaded);
        emit search->repositoryActivated(kRepo);
        QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, kTimeoutMs);
        QVERIFY2(listed[0][0].toBool(), qPrintable(repo->errorText()));
        QCOMPARE(repo->resolvedRevision().size(), 40);
        bool saw_pickle = false, saw_shard = false;
        for (int row = 0; row < repo->fileCount(); ++row) {
            if (repo->filePath(row).endsWith(".bin")) {
                saw_pickle = true;
                QVERIFY(!repo->isFileSelectable(row) && !repo->isFileSelected(row));
            }
            if (repo->filePath(row).endsWith(".safetensors")) {
                saw_shard = true;
                QVERIFY(repo->isFileSelected(row));
            }
        }
        QVERIFY(saw_pickle && saw_shard);
        QVERIFY(repo->selectedBytes() > 5'000'000);
        QVERIFY(repo->includePatterns().isEmpty());  // the engine's own selection
        QVERIFY(repo->estimateView()->totalBytes() > 0);
        QVERIFY(repo->canDownload());
        save_screenshot(panel, 0, QStringLiteral("models-find"));

        // Download, pause halfway, resume.
        DownloadQueue* queue = panel.downloadQueue();
        QSignalSpy finished(queue, &DownloadQueue::jobFinished);
        emit repo->downloadRequested(kRepo, repo->resolvedRevision(), repo->includePatterns());
        QCOMPARE(queue->ids().size(), 1);
        const int id = queue->ids().first();
        QTRY_VERIFY_WITH_TIMEOUT(queue->job(id)->bytes_done > 500'000, kTimeoutMs);
        QVERIFY(queue->job(id)->bytes_done < queue->job(id)->bytes_total);
        save_screenshot(panel, 1, QStringLiteral("models-downloading"));
        QVERIFY(queue->pause(id));
        QTRY_COMPARE_WITH_TIMEOUT(queue->job(id)->state, DownloadState::Paused, kTimeoutMs);
        const qint64 paused_at = queue->job(id)->bytes_done;
        QVERIFY2(queue->job(id)->error.isEmpty(), qPrintable(queue->job(id)->error));
        const QString blobs = QDir(home_.filePath("hf/hub/models--moe-test--tiny-deepseek")).filePath("blobs");
        QVERIFY2(!QDir(blobs).entryList({"*.incomplete"}, QDir::Files).isEmpty(), "pause kept no partial blob");

        QVERIFY(queue->resume(id));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        const DownloadJob* job = queue->job(id);
        QCOMPARE(job->state, DownloadState::Done);
        // The second run found the partial blobs (a restart would report only the small JSON files).
        QVERIFY2(job->resumed_from >= paused_at / 2, "the second run started over instead of resuming");
        QCOMPARE(job->bytes_done, job->bytes_total);
        QVERIFY(panel.downloadsView()->stateText(id).startsWith("done"));
        const QString snapshot = job->snapshot;
        QVERIFY2(QFile::exists(QDir(snapshot).filePath("config.json")), qPrintable(snapshot));
        QVERIFY(QDir(blobs).entryList({"*.incomplete"}, QDir::Files).isEmpty());

        // The finished download triggered a library scan that lists the snapshot as complete.
        LibraryView* library = panel.libraryView();
        const auto snapshot_row = [&] {
            for (int r = 0; r < library->modelCount(); ++r)
                if (QDir(library->modelPath(r)) == QDir(snapshot)) return r;
            return -1;
        };
        QTRY_VERIFY2_WITH_TIMEOUT(snapshot_row() >= 0, qPrintable(library->errorText()), kTimeoutMs);
        const int row = snapshot_row();
        QVERIFY(library->modelRepo(row).startsWith(kRepo));
        QVERIFY(library->isComplete(row));
        save_screenshot(panel, 2, QStringLiteral("models-library"));
        library->load(row);
        QCOMPARE(load_requests.count(), 1);
        const QString requested = load_requests[0][0].toString();
        QVERIFY(QDir(requested) == QDir(snapshot));
        QVERIFY(QFile::exists(QDir(requested).filePath("config.json")));
    }

    void pickleOnlyRepositoryIsExplained() {
        ModelsPanel panel;
        panel.setEngineProgram(QStringLiteral(MOE_ENGINE_BIN));
        panel.setHubSettings(endpoint_, QString(), QString());
        RepositoryView* repo = panel.repositoryView();
        QSignalSpy listed(repo, &RepositoryView::filesLoaded);
        repo->open(QStringLiteral("moe-test/pickle-only"));
        QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, kTimeoutMs);
        QVERIFY2(repo->errorText().contains("only pickle weights"), qPrintable(repo->errorText()));
        QVERIFY(!repo->canDownload());
        for (int row = 0; row < repo->fileCount(); ++row)
            if (repo->filePath(row).endsWith(".bin")) QVERIFY(!repo->isFileSelectable(row));
    }

    void gatedRepositoryFailsWithTheHubsReason() {
        ModelsPanel panel;
        panel.setEngineProgram(QStringLiteral(MOE_ENGINE_BIN));
        panel.setHubSettings(endpoint_, QString(), QString());  // no token
        RepositoryView* repo = panel.repositoryView();
        QSignalSpy listed(repo, &RepositoryView::filesLoaded);
        repo->open(QStringLiteral("moe-test/gated-model"));
        QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, kTimeoutMs);
        // Like the real hub, the listing is public and the content is not: files shown, the reason inline.
        QVERIFY(listed[0][0].toBool());
        QVERIFY(repo->fileCount() > 0);
        QVERIFY2(repo->errorText().contains("gated") && repo->errorText().contains("HF_TOKEN"), qPrintable(repo->errorText()));
        QCOMPARE(repo->estimateView()->totalBytes(), 0);

        DownloadQueue* queue = panel.downloadQueue();
        const int id = queue->enqueue(QStringLiteral("moe-test/gated-model"), QStringLiteral("main"), {});
        QTRY_COMPARE_WITH_TIMEOUT(queue->job(id)->state, DownloadState::Failed, kTimeoutMs);
        QVERIFY2(queue->job(id)->error.contains("hub.gated"), qPrintable(queue->job(id)->error));
        QVERIFY(panel.downloadsView()->stateText(id).startsWith("failed"));
    }

    void settingsPersistWithTheTokenMasked() {
        {
            ModelsPanel panel;
            panel.setHubSettings(endpoint_, QStringLiteral("hf_secret_value"), home_.filePath("cache"));
            panel.addLibraryFolder(home_.filePath("models"));
            for (QLineEdit* field : panel.findChildren<QLineEdit*>())
                if (field->text() == QLatin1String("hf_secret_value")) QCOMPARE(field->echoMode(), QLineEdit::Password);
        }
        ModelsPanel again;
        const HubSettings s = again.hubSettings();
        QCOMPARE(s.endpoint, endpoint_);
        QCOMPARE(s.token, QString("hf_secret_value"));
        QCOMPARE(s.cache_dir, home_.filePath("cache"));
        QCOMPARE(s.folders, QStringList{home_.filePath("models")});
        QCOMPARE(again.libraryView()->folders(), QStringList{home_.filePath("models")});
        QSettings settings;
        QCOMPARE(QFile::permissions(settings.fileName()) & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
                 QFileDevice::Permissions{});
        again.setHubSettings(endpoint_, QString(), QString());
    }
};

QTEST_MAIN(ModelsPanelEndToEnd)
#include "models_panel_e2e_test.moc"
