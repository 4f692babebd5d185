// What a run will train on and what it needs, in words and one table: the engine's data report
// (samples, tokens and tokens with loss per domain, what was held out, cut or left out) and plan
// (parameters trained, tokens per step, the memory estimate and its parts). Before a run it shows
// POST /workbench/v1/train/plan's answer; for a run, the report and plan its status carries.
#pragma once

#include <QJsonObject>
#include <QWidget>

class QLabel;
class QTableWidget;

namespace moe::ui::finetune {

class PlanView : public QWidget {
    Q_OBJECT
public:
    explicit PlanView(QWidget* parent = nullptr);

    // data_report: the report object ({domains, totals, truncated, ...}); plan: the plan event
    // ({trainable_parameters, tokens_per_step, memory: {...}, ...}); either may be empty.
    void showPlan(const QJsonObject& data_report, const QJsonObject& plan);
    // A sentence in place of the report (what to do to get one, or why there is none).
    void showMessage(const QString& text);
    void clear();

    bool hasReport() const { return has_report_; }
    QString summaryText() const;  // the words shown (tests, screenshots)
    QString memoryText() const;
    QTableWidget* domainTable() const { return table_; }

private:
    void showReport(const QJsonObject& report);
    void showNeeds(const QJsonObject& plan);

    QLabel* summary_;
    QTableWidget* table_;
    QLabel* notes_;
    QLabel* needs_;
    bool has_report_ = false;
};

}  // namespace moe::ui::finetune
