// The curves and heatmaps of one fine-tune run, in tabs, drawn from its TrainHistory:
//   Loss         the step's loss and its parts (next-token CE, MTP, balance), held-out loss per domain
//   Optimiser    learning rate, gradient norm, tokens per second
//   Balance      MaxVio of every MoE layer over the steps (layers × steps)
//   Routing bias one layer's bias drift over the steps (steps × experts) and its bias now vs at the start
//   Expert load  a domain's held-out expert load before training and at the latest evaluation
// update() is cheap to call at every poll: new steps are appended, the rest replaced; every plot
// coalesces its replots.
#pragma once

#include <QWidget>

#include "train_history.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSpinBox;
class QTabWidget;

namespace moe::viz {
class BarChartWidget;
class HeatmapWidget;
class TimeSeriesWidget;
}  // namespace moe::viz

namespace moe::ui::finetune {

class RunCharts : public QWidget {
    Q_OBJECT
public:
    explicit RunCharts(QWidget* parent = nullptr);

    // total_steps: the run's length (the x axes span it while it runs); eval_every: 0 when the run
    // does not evaluate (the empty views say so).
    void update(const TrainHistory& history, int total_steps, int eval_every);
    void clear();

    QTabWidget* tabs() const { return tabs_; }
    viz::TimeSeriesWidget* lossPlot() const { return loss_; }
    viz::TimeSeriesWidget* evalPlot() const { return eval_; }
    viz::TimeSeriesWidget* lrPlot() const { return lr_; }
    viz::TimeSeriesWidget* gradPlot() const { return grad_; }
    viz::TimeSeriesWidget* speedPlot() const { return speed_; }
    viz::HeatmapWidget* maxVioHeatmap() const { return maxvio_; }
    viz::HeatmapWidget* biasDriftHeatmap() const { return drift_; }
    viz::BarChartWidget* biasBars() const { return bias_bars_; }
    viz::HeatmapWidget* loadBefore() const { return load_before_; }
    viz::HeatmapWidget* loadAfter() const { return load_after_; }
    QSpinBox* biasLayerBox() const { return layer_box_; }
    QComboBox* domainBox() const { return domain_box_; }

private:
    QWidget* buildLossTab();
    QWidget* buildOptimiserTab();
    QWidget* buildBalanceTab();
    QWidget* buildBiasTab();
    QWidget* buildLoadTab();
    void appendSteps(const TrainHistory& h);
    void updateEvals(const TrainHistory& h, int eval_every);
    void updateBias();
    void updateLoad();

    const TrainHistory* history_ = nullptr;  // the last one drawn (owned by the panel)
    int eval_every_ = 0;
    QTabWidget* tabs_;
    viz::TimeSeriesWidget* loss_ = nullptr;
    viz::TimeSeriesWidget* eval_ = nullptr;
    viz::TimeSeriesWidget* lr_ = nullptr;
    viz::TimeSeriesWidget* grad_ = nullptr;
    viz::TimeSeriesWidget* speed_ = nullptr;
    viz::HeatmapWidget* maxvio_ = nullptr;
    viz::HeatmapWidget* drift_ = nullptr;
    viz::BarChartWidget* bias_bars_ = nullptr;
    viz::HeatmapWidget* load_before_ = nullptr;
    viz::HeatmapWidget* load_after_ = nullptr;
    QCheckBox* log_loss_ = nullptr;
    QSpinBox* layer_box_ = nullptr;
    QComboBox* domain_box_ = nullptr;
    QLabel* bias_caption_ = nullptr;
    QLabel* load_caption_ = nullptr;
    QStringList eval_domains_;  // the eval plot's series, in order
    int appended_steps_ = 0;
};

}  // namespace moe::ui::finetune
