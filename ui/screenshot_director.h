// --screenshot-panel NAME --screenshot-out FILE: drives the window until the panel shows real data
// from the engine, grabs it (QWidget::grab) into FILE, lingers so tools/screenshots.sh can also take
// a full-screen shot, then ends the app. Steps: wait for a model, send one scripted prompt
// ("Write a haiku about routers", fixed seed), wait for the reply to finish, click one of its tokens
// (the token explorer's input), for the per-domain views run the bundled corpora, wait for two more
// telemetry snapshots (live views; the models panel scans its library), raise the dock in its
// docked place (the size the default layout gives it on this screen), grab. NAME "window" grabs the
// whole main window with the live expert load in front. "finetuneDock.setup" fills the fine-tune
// form (the chat's model, the data of $MOE_SCREENSHOT_TRAIN_DATA/{prose,code}) and shows the
// engine's data report; "finetuneDock" trains that run to the end, grabs its chart tabs into
// FILE's siblings (FILE-balance.png, ...) and then the loss curves into FILE.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

namespace moe::ui {

class MainWindow;

class ScreenshotDirector : public QObject {
    Q_OBJECT
public:
    ScreenshotDirector(MainWindow* window, const QString& panel, const QString& out_file, int linger_ms,
                       QObject* parent = nullptr);
    void start();

    static constexpr const char* kPrompt = "Write a haiku about routers";

signals:
    void done(int exit_code);

private:
    void onModels(bool any);
    void onReplyFinished();
    void runDomains();  // the per-domain and specialisation views show a finished corpus run
    void scanLibrary();  // the models panel shows its library with the demo checkpoint
    void runFinetune();  // a short fine-tune run of the chat's model (or only its data report)
    void onFinetuneProgress();
    void grabFinetuneTabs(int next);
    QString dockName() const;
    void onTelemetry();
    void presentPanel();
    void grab();
    void fail(const QString& message);

    MainWindow* window_;
    QString panel_;
    QString out_;
    int linger_ms_;
    enum class Step { WaitModel, WaitReply, WaitDomains, WaitLibrary, WaitFinetune, WaitTelemetry, Grabbing, Done } step_ =
        Step::WaitModel;
    int telemetry_after_reply_ = 0;
    QTimer deadline_;
    QTimer finetune_poll_;
    bool following_demo_run_ = false;  // finetuneDock: the demo model's training run, not a new one
};

}  // namespace moe::ui
