// The Fine-tune panel (issue #12): set up a run — model, data, method and hyper-parameters, with the
// engine's data report and memory estimate before it starts — then start, pause, resume or cancel
// it and watch it live (RunProgressView), and export a checkpoint straight into the chat.
//
// The window holds no training state: the engine runs each run as a detached process, so a run
// keeps going when the window closes. The panel lists the engine's runs (GET /workbench/v1/train),
// reattaches to the one still running when it opens (its whole history, then live), and reopens any
// finished run's curves from the history saved with it. Every call is asynchronous (TrainApi over
// EngineClient); the settings of the last run started come back in the form (QSettings).
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>
#include <QWidget>

#include <memory>

#include "train_history.h"

class QComboBox;
class QPushButton;
class QScrollArea;
class QStackedWidget;

namespace moe::ui {
class EngineClient;
class ErrorNotice;
}  // namespace moe::ui

namespace moe::ui::finetune {

class PlanView;
class RunProgressView;
class RunSetupForm;
class RunWatcher;
class TrainApi;

class FinetunePanel : public QWidget {
    Q_OBJECT
public:
    explicit FinetunePanel(EngineClient* client, QWidget* parent = nullptr);
    ~FinetunePanel() override;

    // Folders the model box offers after the chat's model (the window passes its recent models).
    void setRecentModels(const QStringList& folders);

    // GET /workbench/v1/train into the run list; with attach, follows a run that is still active.
    void refreshRuns(bool attach = false);
    void openRun(const QString& id);  // its history and, while it runs, live updates
    void showNewRun();                // the setup page
    void checkPlan();                 // POST /workbench/v1/train/plan with the form's settings
    void startRun();                  // POST /workbench/v1/train

    QString watchedRun() const;
    const TrainHistory& history() const { return history_; }
    const QJsonArray& runs() const { return runs_; }
    RunSetupForm* form() const { return form_; }
    PlanView* planView() const { return plan_; }
    RunProgressView* progress() const { return progress_; }
    QComboBox* runBox() const { return run_box_; }
    QPushButton* checkButton() const { return check_; }
    QPushButton* startButton() const { return start_; }
    ErrorNotice* setupNotice() const { return setup_notice_; }
    QScrollArea* setupScroll() const { return setup_scroll_; }
    ErrorNotice* notice() const { return notice_; }

signals:
    void loadRequested(const QString& checkpoint_dir);  // an exported run, for the chat
    void runsListed();                                  // the run list was refreshed (tests)
    void planAnswered();                                // the plan call came back, whatever it said (tests)

private:
    QWidget* buildSetupPage();
    void onModels(const QJsonArray& models);
    void openRunToFollow(const QJsonArray& runs);
    void clearFollowingError();
    void onRunsListed(const QJsonArray& runs, bool attach);
    void onStatus(const QJsonObject& status);
    void onEvents(const QJsonArray& events);
    void onRunChosen(int index);
    void control(const QString& action);
    void exportCheckpoint(const QString& dtype);
    void offerModels();

    std::unique_ptr<TrainApi> api_;
    EngineClient* client_;
    RunWatcher* watcher_;
    bool following_failed_ = false;  // the notice shows a failed poll of the watched run
    TrainHistory history_;
    QJsonArray runs_;
    QString loaded_model_;    // the chat's model folder (/v1/models root)
    QStringList recent_models_;
    QString pending_load_;    // an exported folder on its way into the chat
    bool listed_once_ = false;
    bool plan_in_flight_ = false;
    QComboBox* run_box_;
    QStackedWidget* pages_;
    RunSetupForm* form_ = nullptr;
    PlanView* plan_ = nullptr;
    QScrollArea* setup_scroll_ = nullptr;
    QPushButton* check_ = nullptr;
    QPushButton* start_ = nullptr;
    ErrorNotice* setup_notice_ = nullptr;
    ErrorNotice* notice_;
    RunProgressView* progress_;
};

}  // namespace moe::ui::finetune
