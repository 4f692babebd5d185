// One run as it goes (or as it went): what it is, its state and progress (step of steps, loss,
// tokens per second, time left), Pause / Resume / Cancel, the curves and heatmaps (RunCharts), its
// data report and plan, and its checkpoints with "Export and chat with it". It only shows what the
// engine reported (GET /workbench/v1/train/{id} and the history); the panel does the talking.
#pragma once

#include <QJsonObject>
#include <QWidget>

class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;

namespace moe::ui {
class ErrorNotice;
}

namespace moe::ui::finetune {

class PlanView;
class RunCharts;
class TrainHistory;

class RunProgressView : public QWidget {
    Q_OBJECT
public:
    explicit RunProgressView(QWidget* parent = nullptr);

    void clear();
    // A status object of GET /workbench/v1/train/{id}.
    void showStatus(const QJsonObject& status);
    void showHistory(const TrainHistory& history);
    // The export's outcome, in the checkpoints tab ("" clears).
    void setExportNote(const QString& text);
    void setExporting(bool busy);

    QString state() const { return state_; }
    QLabel* stateLabel() const { return state_label_; }
    QLabel* statsLabel() const { return stats_label_; }
    QPushButton* pauseButton() const { return pause_; }
    QPushButton* resumeButton() const { return resume_; }
    QPushButton* cancelButton() const { return cancel_; }
    QPushButton* exportButton() const { return export_; }
    QComboBox* dtypeBox() const { return dtype_; }
    QListWidget* checkpointList() const { return checkpoints_; }
    RunCharts* charts() const { return charts_; }
    PlanView* planView() const { return plan_; }
    ErrorNotice* runError() const { return error_; }

signals:
    void controlRequested(const QString& action);  // "pause" | "resume" | "cancel"
    void exportRequested(const QString& dtype);

private:
    QWidget* buildCheckpointsTab();
    void showTitle(const QString& id, const QString& folder, const QJsonObject& config);
    void showState(const QJsonObject& status);
    void showLastStep(const QJsonObject& step);
    void enableControls();

    QString state_;
    int total_steps_ = 0;
    int eval_every_ = 0;
    bool exporting_ = false;
    bool has_checkpoint_ = false;
    QLabel* title_;
    QLabel* state_label_;
    QProgressBar* progress_;
    QLabel* stats_label_;
    QPushButton* pause_;
    QPushButton* resume_;
    QPushButton* cancel_;
    ErrorNotice* error_;
    RunCharts* charts_;
    PlanView* plan_;
    QListWidget* checkpoints_ = nullptr;
    QComboBox* dtype_ = nullptr;
    QPushButton* export_ = nullptr;
    QLabel* export_note_ = nullptr;
};

}  // namespace moe::ui::finetune
