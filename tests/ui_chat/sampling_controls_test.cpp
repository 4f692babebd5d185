// Issue #14 item 5: the reply length limit (max_tokens) must follow the loaded model's context. The
// user's own choice is kept and comes back with a model that reads more.
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "sampling_controls.h"

using moe::ui::SamplingControls;

class SamplingControlsTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        qputenv("XDG_CONFIG_HOME", config_.path().toUtf8());
        QStandardPaths::setTestModeEnabled(true);
    }

    void replyLengthFollowsTheModelsContext() {
        SamplingControls controls;
        auto* box = controls.findChild<QSpinBox*>(QStringLiteral("samplingMaxTokens"));
        QVERIFY(box);
        QCOMPARE(controls.maxTokensLimit(), SamplingControls::kDefaultMaxTokensCeiling);  // no model yet
        controls.setMaxTokens(5000);
        QCOMPARE(controls.maxTokens(), 5000);

        QSignalSpy changed(&controls, &SamplingControls::changed);
        controls.setModelLimits(1024);
        QVERIFY(!changed.isEmpty());  // the chat takes the clamped value into its next request
        QCOMPARE(box->maximum(), 1024);
        QCOMPARE(controls.maxTokens(), 1024);
        QCOMPARE(controls.requestOptions().value(QStringLiteral("max_tokens")).toInt(), 1024);
        QVERIFY2(box->toolTip().contains(QStringLiteral("1024")), qPrintable(box->toolTip()));
        box->setValue(99999);  // typing more than the model reads is not possible
        QCOMPARE(controls.maxTokens(), 1024);

        controls.setModelLimits(8192);  // a model that reads more: the user's 5000 comes back
        QCOMPARE(controls.maxTokens(), 5000);
        controls.setModelLimits(0);  // unknown (no model): the default ceiling
        QCOMPARE(box->maximum(), SamplingControls::kDefaultMaxTokensCeiling);
        QCOMPARE(controls.maxTokens(), 5000);

        box->setValue(300);  // a choice below the limit is the user's new choice
        controls.setModelLimits(200);
        QCOMPARE(controls.maxTokens(), 200);
        controls.setModelLimits(4096);
        QCOMPARE(controls.maxTokens(), 300);
    }

private:
    QTemporaryDir config_;
};

QTEST_MAIN(SamplingControlsTest)
#include "sampling_controls_test.moc"
