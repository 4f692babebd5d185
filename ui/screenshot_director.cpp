#include "screenshot_director.h"

#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QJsonArray>
#include <QPixmap>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTextStream>

#include <iterator>

#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_view.h"
#include "domain_panel.h"
#include "finetune_panel.h"
#include "run_charts.h"
#include "run_progress_view.h"
#include "run_setup_form.h"
#include "models/library_view.h"
#include "models/models_panel.h"
#include "engine_client.h"
#include "main_window.h"
#include "message_widget.h"
#include "sampling_controls.h"

namespace moe::ui {

namespace {
constexpr int kDeadlineMs = 600'000;  // a per-domain run on a busy 2-core machine takes minutes
constexpr int kTelemetrySnapshotsToWait = 2;
constexpr int kSettleMs = 800;  // layout and queued replots after the dock is shown
constexpr int kExplorerToken = 2;
const char* const kFinetuneSetup = "finetuneDock.setup";
const char* const kDemoTrainingRun = "demo-model-training";  // engine/demo/demo_model.h
// The fine-tune run's chart tabs grabbed beside the main picture (which shows the first, Loss).
const char* const kFinetuneTabs[] = {"Optimiser", "Balance", "Routing bias", "Expert load"};

// The first token from kExplorerToken on with readable text (the untrained model also emits
// partial UTF-8 bytes, which show as U+FFFD), else kExplorerToken.
int readableToken(const QVector<CompletionToken>& tokens) {
    for (int i = kExplorerToken; i < tokens.size() - 1; ++i) {
        const QString text = tokens[i].text.trimmed();
        if (!text.isEmpty() && !text.contains(QChar::ReplacementCharacter)) return i;
    }
    return std::min(kExplorerToken, int(tokens.size()) - 1);
}
}  // namespace

ScreenshotDirector::ScreenshotDirector(MainWindow* window, const QString& panel, const QString& out_file,
                                       int linger_ms, QObject* parent)
    : QObject(parent), window_(window), panel_(panel), out_(out_file), linger_ms_(linger_ms) {
    deadline_.setSingleShot(true);
    connect(&deadline_, &QTimer::timeout, this, [this] {
        fail(QStringLiteral("no data for panel \"%1\" within %2 s (step %3)")
                 .arg(panel_)
                 .arg(kDeadlineMs / 1000)
                 .arg(int(step_)));
    });
}

void ScreenshotDirector::start() {
    if (panel_ != QLatin1String("window") && !window_->dock(dockName())) {
        fail(QStringLiteral("there is no panel \"%1\"; panels: %2, window")
                 .arg(panel_, window_->panelNames().join(QStringLiteral(", "))));
        return;
    }
    ChatPanel* chat = window_->chatPanel();
    chat->sampling()->setSeed(7);  // the same reply every run
    chat->sampling()->setMaxTokens(40);
    chat->sampling()->setRecordRouting(true);
    connect(window_->client(), &EngineClient::modelsChanged, this,
            [this](const QJsonArray& models) { onModels(!models.isEmpty()); });
    connect(chat->session(), &ChatSession::busyChanged, this, [this](bool busy) {
        if (!busy) onReplyFinished();
    });
    connect(window_->client(), &EngineClient::telemetry, this, &ScreenshotDirector::onTelemetry);
    deadline_.start(kDeadlineMs);
}

void ScreenshotDirector::onModels(bool any) {
    if (step_ != Step::WaitModel || !any) return;
    step_ = Step::WaitReply;
    window_->chatPanel()->sendMessage(QString::fromLatin1(kPrompt));
}

void ScreenshotDirector::onReplyFinished() {
    if (step_ != Step::WaitReply) return;
    ChatPanel* chat = window_->chatPanel();
    const auto& messages = chat->session()->messages();
    if (messages.isEmpty() || !messages.last().error.isEmpty()) {
        fail(QStringLiteral("the scripted prompt failed: %1").arg(messages.isEmpty() ? QString() : messages.last().error));
        return;
    }
    // The token explorer shows the experts of one token: click one, as a user would.
    if (MessageWidget* reply = chat->view()->messageWidget(int(messages.size()) - 1))
        reply->activateToken(readableToken(messages.last().tokens));
    if (panel_ == QLatin1String("routing.domains") || panel_ == QLatin1String("routing.specialisation")) {
        runDomains();
        return;
    }
    if (panel_ == QLatin1String("modelsDock")) {
        scanLibrary();
        return;
    }
    if (dockName() == QLatin1String("finetuneDock")) {
        runFinetune();
        return;
    }
    step_ = Step::WaitTelemetry;
}

QString ScreenshotDirector::dockName() const {
    return panel_ == QLatin1String(kFinetuneSetup) ? QStringLiteral("finetuneDock") : panel_;
}

void ScreenshotDirector::runFinetune() {
    finetune::FinetunePanel* panel = window_->finetunePanel();
    // A first launch on the demo model shows the demo's own training run: that is the picture.
    if (panel_ != QLatin1String(kFinetuneSetup) && panel->watchedRun() == QLatin1String(kDemoTrainingRun)) {
        following_demo_run_ = true;
        step_ = Step::WaitFinetune;
        finetune_poll_.setInterval(500);
        connect(&finetune_poll_, &QTimer::timeout, this, &ScreenshotDirector::onFinetuneProgress);
        finetune_poll_.start();
        return;
    }
    const QString data = qEnvironmentVariable("MOE_SCREENSHOT_TRAIN_DATA");
    if (data.isEmpty() || !QFileInfo(data + QStringLiteral("/prose")).isDir()) {
        fail(QStringLiteral("set MOE_SCREENSHOT_TRAIN_DATA to a folder with prose/ and code/ (tools/screenshots.sh "
                            "uses tests/data/train_data)"));
        return;
    }
    // A short run the demo model finishes in a minute on two cores, with every curve switched on.
    finetune::RunSettings s;
    s.model = panel->form()->settings().model;  // the chat's model
    s.data_paths = {data + QStringLiteral("/prose"), data + QStringLiteral("/code")};
    s.seq_len = 64;
    s.batch = 2;
    s.holdout = 0.34;
    s.lora_rank = 8;
    s.steps = 30;
    s.lr = 3e-3;
    s.warmup = 3;
    s.mtp_lambda = 0.3;
    s.eval_every = 10;
    s.checkpoint_every = 10;
    s.keep_checkpoints = 2;
    panel->form()->setSettings(s);
    step_ = Step::WaitFinetune;
    if (panel_ == QLatin1String(kFinetuneSetup)) {
        connect(panel, &finetune::FinetunePanel::planAnswered, this, [this] {
            if (step_ == Step::WaitFinetune) step_ = Step::WaitTelemetry;
        });
        panel->checkPlan();
        return;
    }
    panel->startRun();
    finetune_poll_.setInterval(500);
    connect(&finetune_poll_, &QTimer::timeout, this, &ScreenshotDirector::onFinetuneProgress);
    finetune_poll_.start();
}

void ScreenshotDirector::onFinetuneProgress() {
    finetune::FinetunePanel* panel = window_->finetunePanel();
    const QString state = panel->progress()->state();
    if (state == QLatin1String("failed") || state == QLatin1String("stopped") || state == QLatin1String("cancelled")) {
        finetune_poll_.stop();
        fail(QStringLiteral("the fine-tune run ended %1").arg(state));
        return;
    }
    // Done, with the last evaluation and the checkpoints listed.
    const int last_step = following_demo_run_ ? 1 : panel->form()->settings().steps;
    if (state != QLatin1String("done") || panel->history().evals().size() < 2 || panel->history().lastStep() < last_step)
        return;
    finetune_poll_.stop();
    presentPanel();
    QTimer::singleShot(kSettleMs, this, [this] { grabFinetuneTabs(0); });
}

// Each chart tab into FILE-<tab>.png, then the Loss tab: the main picture, on screen for the full-screen shot.
void ScreenshotDirector::grabFinetuneTabs(int next) {
    QTabWidget* tabs = window_->finetunePanel()->progress()->charts()->tabs();
    auto select = [tabs](const QString& title) {
        for (int i = 0; i < tabs->count(); ++i)
            if (tabs->tabText(i) == title) tabs->setCurrentIndex(i);
    };
    if (next > 0) {
        const QString title = QString::fromLatin1(kFinetuneTabs[next - 1]);
        const QFileInfo out(out_);
        const QString file = out.dir().filePath(out.completeBaseName() + QLatin1Char('-') +
                                                title.toLower().replace(QLatin1Char(' '), QLatin1Char('-')) +
                                                QStringLiteral(".png"));
        if (!window_->dock(dockName())->grab().save(file)) {
            fail(QStringLiteral("%1: cannot write the screenshot").arg(file));
            return;
        }
        QTextStream(stdout) << "screenshot: " << panel_ << " " << title << " -> " << file << Qt::endl;
    }
    if (next < int(std::size(kFinetuneTabs))) {
        select(QString::fromLatin1(kFinetuneTabs[next]));
        QTimer::singleShot(kSettleMs, this, [this, next] { grabFinetuneTabs(next + 1); });
        return;
    }
    select(QStringLiteral("Loss"));
    step_ = Step::Grabbing;
    QTimer::singleShot(kSettleMs, this, &ScreenshotDirector::grab);
}

void ScreenshotDirector::runDomains() {
    auto* domains = window_->findChild<DomainPanel*>();
    if (!domains) {
        fail(QStringLiteral("the per-domain panel is missing"));
        return;
    }
    step_ = Step::WaitDomains;
    connect(domains->run(), &DomainRun::finished, this, [this](bool completed, const QString& message) {
        if (step_ != Step::WaitDomains) return;
        if (!completed) {
            fail(QStringLiteral("the per-domain run did not complete: %1").arg(message));
            return;
        }
        step_ = Step::WaitTelemetry;
    });
    if (!domains->startRun()) fail(QStringLiteral("the per-domain run did not start: %1").arg(domains->status()));
}

void ScreenshotDirector::scanLibrary() {
    auto* panel = window_->findChild<ModelsPanel*>();
    if (!panel) {
        fail(QStringLiteral("the models panel is missing"));
        return;
    }
    // The engine wrote the demo checkpoint into the workbench's cache: the library lists it.
    const QString cache =
        QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation) + QStringLiteral("/moe-workbench");
    step_ = Step::WaitLibrary;
    connect(panel->libraryView(), &models::LibraryView::scanFinished, this, [this, panel](bool ok) {
        if (step_ != Step::WaitLibrary) return;
        if (!ok || panel->libraryView()->modelCount() == 0) {
            fail(QStringLiteral("the library scan found no model: %1").arg(panel->libraryView()->errorText()));
            return;
        }
        step_ = Step::WaitTelemetry;
    });
    if (auto* tabs = panel->findChild<QTabWidget*>(QString(), Qt::FindDirectChildrenOnly))
        tabs->setCurrentWidget(panel->libraryView());
    panel->addLibraryFolder(cache);
}

void ScreenshotDirector::onTelemetry() {
    if (step_ != Step::WaitTelemetry || ++telemetry_after_reply_ < kTelemetrySnapshotsToWait) return;
    step_ = Step::Grabbing;
    presentPanel();
    QTimer::singleShot(kSettleMs, this, &ScreenshotDirector::grab);
}

void ScreenshotDirector::presentPanel() {
    // Docked, at the size the default layout gives it on this screen: the picture shows what a user
    // of a screen this size sees. The window picture shows a newcomer's view: the chat beside the
    // live expert load (the token click above raised the token explorer).
    const QString name = panel_ == QLatin1String("window") ? QStringLiteral("routing.live") : dockName();
    if (QDockWidget* dock = window_->dock(name)) {
        dock->show();
        dock->raise();
    }
}

void ScreenshotDirector::grab() {
    QWidget* target = panel_ == QLatin1String("window") ? static_cast<QWidget*>(window_) : window_->dock(dockName());
    const QPixmap pixmap = target->grab();
    if (pixmap.isNull() || !pixmap.save(out_)) {
        fail(QStringLiteral("%1: cannot write the screenshot of \"%2\"").arg(out_, panel_));
        return;
    }
    QTextStream(stdout) << "screenshot: " << panel_ << " -> " << out_ << Qt::endl;
    step_ = Step::Done;
    deadline_.stop();
    QTimer::singleShot(linger_ms_, this, [this] { emit done(0); });
}

void ScreenshotDirector::fail(const QString& message) {
    if (step_ == Step::Done) return;
    step_ = Step::Done;
    deadline_.stop();
    QTextStream(stderr) << "moe-workbench --screenshot-panel: " << message << Qt::endl;
    emit done(2);
}

}  // namespace moe::ui
