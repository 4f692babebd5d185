#include "run_charts.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include <cmath>

#include "bar_chart_widget.h"
#include "export_bar.h"
#include "heatmap_widget.h"
#include "time_series_widget.h"

namespace moe::ui::finetune {

namespace {

// Loss parts: where each lives in a StepRecord, and its name on the plot.
struct LossPart {
    const char* name;
    double StepRecord::*field;
    bool always;  // drawn from the first step (the others once they are not 0: MTP and balance are off by default)
};
const LossPart kLossParts[] = {
    {QT_TRANSLATE_NOOP("RunCharts", "total"), &StepRecord::total, true},
    {QT_TRANSLATE_NOOP("RunCharts", "next token (CE)"), &StepRecord::ce, true},
    {QT_TRANSLATE_NOOP("RunCharts", "MTP (weighted)"), &StepRecord::l_mtp, false},
    {QT_TRANSLATE_NOOP("RunCharts", "balance (weighted)"), &StepRecord::l_bal, false},
};

QLabel* caption(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    return label;
}

viz::TimeSeriesWidget* series(const QString& object_name, const QString& y_title, QWidget* parent) {
    auto* w = new viz::TimeSeriesWidget(parent);
    w->setObjectName(object_name);
    w->setAxisTitles(QObject::tr("step"), y_title);
    return w;
}

// CSV and PNG targets for one plot on an export bar.
template <class Plot>
void addExports(ExportBar* bar, const QString& name, const QString& stem, Plot* plot) {
    bar->addCsvTarget(name, stem, [plot](const QString& path, QString* error) { return plot->saveCsv(path, error); });
    bar->addPngTarget(name, stem, [plot](const QString& path, QString* error) { return plot->savePng(path, 0, 0, error); });
}

}  // namespace

RunCharts::RunCharts(QWidget* parent) : QWidget(parent), tabs_(new QTabWidget(this)) {
    tabs_->setObjectName(QStringLiteral("finetune.charts"));
    tabs_->addTab(buildLossTab(), tr("Loss"));
    tabs_->addTab(buildOptimiserTab(), tr("Optimiser"));
    tabs_->addTab(buildBalanceTab(), tr("Balance"));
    tabs_->addTab(buildBiasTab(), tr("Routing bias"));
    tabs_->addTab(buildLoadTab(), tr("Expert load"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tabs_);
    clear();
}

QWidget* RunCharts::buildLossTab() {
    auto* tab = new QWidget(this);
    loss_ = series(QStringLiteral("finetune.loss"), tr("loss (nats per token)"), tab);
    loss_->setToolTip(tr("The loss of each step on its training batch: total = next-token cross-entropy + λ·MTP "
                         "+ α·balance (the MTP and balance parts appear once they are switched on)"));
    eval_ = series(QStringLiteral("finetune.evalLoss"), tr("held-out loss (nats per token)"), tab);
    eval_->setToolTip(tr("Next-token loss on the held-out part of each domain, at every evaluation (step 0: the "
                         "model before training)"));
    log_loss_ = new QCheckBox(tr("Log scale"), tab);
    log_loss_->setToolTip(tr("A log scale shows the small balance loss beside the next-token loss"));
    log_loss_->setChecked(true);
    loss_->setLogY(true);
    connect(log_loss_, &QCheckBox::toggled, loss_, &viz::TimeSeriesWidget::setLogY);
    auto* exports = new ExportBar(tab);
    addExports(exports, tr("training loss"), QStringLiteral("training-loss"), loss_);
    addExports(exports, tr("held-out loss per domain"), QStringLiteral("held-out-loss"), eval_);
    auto* row = new QHBoxLayout;
    row->addWidget(log_loss_);
    row->addStretch(1);
    row->addWidget(exports);
    auto* split = new QSplitter(Qt::Vertical, tab);
    split->addWidget(loss_);
    split->addWidget(eval_);
    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(row);
    layout->addWidget(split, 1);
    return tab;
}

QWidget* RunCharts::buildOptimiserTab() {
    auto* tab = new QWidget(this);
    lr_ = series(QStringLiteral("finetune.lr"), tr("learning rate"), tab);
    grad_ = series(QStringLiteral("finetune.gradNorm"), tr("gradient norm (before clipping)"), tab);
    speed_ = series(QStringLiteral("finetune.speed"), tr("tokens per second"), tab);
    auto* exports = new ExportBar(tab);
    addExports(exports, tr("learning rate"), QStringLiteral("learning-rate"), lr_);
    addExports(exports, tr("gradient norm"), QStringLiteral("gradient-norm"), grad_);
    addExports(exports, tr("tokens per second"), QStringLiteral("tokens-per-second"), speed_);
    auto* split = new QSplitter(Qt::Vertical, tab);
    for (QWidget* w : {static_cast<QWidget*>(lr_), static_cast<QWidget*>(grad_), static_cast<QWidget*>(speed_)})
        split->addWidget(w);
    auto* layout = new QVBoxLayout(tab);
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(exports);
    layout->addLayout(row);
    layout->addWidget(split, 1);
    return tab;
}

QWidget* RunCharts::buildBalanceTab() {
    auto* tab = new QWidget(this);
    maxvio_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, tab);
    maxvio_->setObjectName(QStringLiteral("finetune.maxvio"));
    maxvio_->setMinimumCellWidth(0);  // every step on screen: a run at a glance
    auto* exports = new ExportBar(tab);
    addExports(exports, tr("MaxVio per layer and step"), QStringLiteral("maxvio"), maxvio_);
    auto* row = new QHBoxLayout;
    row->addWidget(caption(tr("How unevenly each layer with experts spread the step's tokens over its experts: 0 = perfectly "
                              "even, 1 = its busiest expert got twice the average. Layers numbered after the model's "
                              "last layer are its MTP modules."), tab), 1);
    row->addWidget(exports);
    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(row);
    layout->addWidget(maxvio_, 1);
    return tab;
}

QWidget* RunCharts::buildBiasTab() {
    auto* tab = new QWidget(this);
    layer_box_ = new QSpinBox(tab);
    layer_box_->setObjectName(QStringLiteral("finetune.biasLayer"));
    layer_box_->setPrefix(tr("layer "));
    layer_box_->setToolTip(tr("The layer (one with experts) whose routing bias is shown"));
    connect(layer_box_, &QSpinBox::valueChanged, this, [this] { updateBias(); });
    drift_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Diverging, tab);
    drift_->setObjectName(QStringLiteral("finetune.biasDrift"));
    bias_bars_ = new viz::BarChartWidget(tab);
    bias_bars_->setObjectName(QStringLiteral("finetune.biasNow"));
    bias_caption_ = caption({}, tab);
    bias_caption_->setToolTip(tr("DeepSeek-V3's e_score_correction_bias, moved by γ·sign(mean load − load) after "
                                 "every step (auxiliary-loss-free balancing)"));
    auto* exports = new ExportBar(tab);
    addExports(exports, tr("bias drift (steps × experts)"), QStringLiteral("bias-drift"), drift_);
    addExports(exports, tr("bias now and at the start"), QStringLiteral("bias-now"), bias_bars_);
    auto* row = new QHBoxLayout;
    row->addWidget(layer_box_);
    row->addStretch(1);
    row->addWidget(exports);
    auto* split = new QSplitter(Qt::Vertical, tab);
    split->addWidget(drift_);
    split->addWidget(bias_bars_);
    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(row);
    layout->addWidget(bias_caption_);
    layout->addWidget(split, 1);
    return tab;
}

QWidget* RunCharts::buildLoadTab() {
    auto* tab = new QWidget(this);
    domain_box_ = new QComboBox(tab);
    domain_box_->setObjectName(QStringLiteral("finetune.loadDomain"));
    domain_box_->setToolTip(tr("The kind of text (domain) whose held-out tokens are counted"));
    connect(domain_box_, &QComboBox::currentIndexChanged, this, [this] { updateLoad(); });
    load_before_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, tab);
    load_before_->setObjectName(QStringLiteral("finetune.loadBefore"));
    load_after_ = new viz::HeatmapWidget(viz::HeatmapWidget::Palette::Sequential, tab);
    load_after_->setObjectName(QStringLiteral("finetune.loadAfter"));
    load_caption_ = caption({}, tab);
    auto* exports = new ExportBar(tab);
    addExports(exports, tr("expert load before"), QStringLiteral("expert-load-before"), load_before_);
    addExports(exports, tr("expert load now"), QStringLiteral("expert-load-now"), load_after_);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Domain:"), tab));
    row->addWidget(domain_box_);
    row->addStretch(1);
    row->addWidget(exports);
    auto* split = new QSplitter(Qt::Vertical, tab);
    split->addWidget(load_before_);
    split->addWidget(load_after_);
    auto* layout = new QVBoxLayout(tab);
    layout->addLayout(row);
    layout->addWidget(load_caption_);
    layout->addWidget(split, 1);
    return tab;
}

void RunCharts::clear() {
    history_ = nullptr;
    appended_steps_ = 0;
    eval_domains_.clear();
    for (viz::TimeSeriesWidget* w : {loss_, eval_, lr_, grad_, speed_}) {
        w->clearSeries();
        w->setXSpan(0, 0);
    }
    lr_->addSeries(tr("learning rate"));
    grad_->addSeries(tr("gradient norm"));
    speed_->addSeries(tr("tokens/s"));
    const QString none = tr("No steps yet: the curves start with the run's first step.");
    for (viz::CoalescedPlot* w : std::initializer_list<viz::CoalescedPlot*>{loss_, lr_, grad_, speed_, maxvio_})
        w->setEmptyMessage(none);
    eval_->setEmptyMessage(tr("No evaluation yet."));
    drift_->setEmptyMessage(none);
    bias_bars_->setValues({}, tr("expert"), tr("routing bias"));
    bias_bars_->setReference({}, {}, {});
    load_before_->setEmptyMessage(tr("No evaluation yet."));
    load_after_->setEmptyMessage(tr("No evaluation yet."));
    for (viz::HeatmapWidget* h : {maxvio_, drift_, load_before_, load_after_}) h->setData({});
    bias_caption_->clear();
    load_caption_->clear();
    domain_box_->clear();
}

void RunCharts::update(const TrainHistory& history, int total_steps, int eval_every) {
    if (history_ != &history || history.steps().size() < appended_steps_) clear();
    history_ = &history;
    eval_every_ = eval_every;
    for (viz::TimeSeriesWidget* w : {loss_, eval_, lr_, grad_, speed_}) w->setXSpan(0, total_steps);
    appendSteps(history);
    updateEvals(history, eval_every);
    if (!history.steps().isEmpty()) {
        maxvio_->setEmptyMessage({});
        maxvio_->setData(history.maxVio());
    }
    const QList<int> layers = history.moeLayers();
    if (!layers.isEmpty()) {
        const QSignalBlocker block(layer_box_);
        layer_box_->setRange(layers.first(), layers.last());
    }
    updateBias();
    const QString domain = domain_box_->currentText();
    if (domain_box_->count() != history.domains().size()) {
        const QSignalBlocker block(domain_box_);
        domain_box_->clear();
        domain_box_->addItems(history.domains());
        if (history.domains().contains(domain)) domain_box_->setCurrentText(domain);
    }
    updateLoad();
}

void RunCharts::appendSteps(const TrainHistory& h) {
    const QVector<StepRecord>& steps = h.steps();
    if (steps.size() == appended_steps_) return;
    for (viz::TimeSeriesWidget* w : {loss_, lr_, grad_, speed_}) w->setEmptyMessage({});
    // Loss parts that were 0 so far get their series (with every point so far) once they are not.
    for (const LossPart& part : kLossParts) {
        const QString name = tr(part.name);
        int index = -1;
        for (int s = 0; s < loss_->seriesCount(); ++s)
            if (loss_->seriesName(s) == name) index = s;
        if (index < 0) {
            bool used = part.always;
            for (const StepRecord& r : steps) used = used || (std::isfinite(r.*part.field) && r.*part.field != 0);
            if (!used) continue;
            index = loss_->addSeries(name);
            QVector<double> x, y;
            for (int i = 0; i < appended_steps_; ++i) {
                x << steps[i].step;
                y << steps[i].*part.field;
            }
            loss_->setPoints(index, x, y);
        }
        for (int i = appended_steps_; i < steps.size(); ++i) loss_->append(index, steps[i].step, steps[i].*part.field);
    }
    for (int i = appended_steps_; i < steps.size(); ++i) {
        const StepRecord& r = steps[i];
        lr_->append(0, r.step, r.lr);
        grad_->append(0, r.step, r.grad_norm);
        speed_->append(0, r.step, r.tokens_per_s);
    }
    appended_steps_ = int(steps.size());
}

void RunCharts::updateEvals(const TrainHistory& h, int eval_every) {
    if (h.evals().isEmpty()) {
        const QString why = eval_every > 0
                                ? tr("No evaluation yet: the run evaluates its held-out text before the first step and "
                                     "every %n step(s).", nullptr, eval_every)
                                : tr("This run does not evaluate (\"Evaluate every\" was 0), so there is no held-out loss "
                                     "or expert load per domain.");
        eval_->setEmptyMessage(why);
        load_before_->setEmptyMessage(why);
        load_after_->setEmptyMessage(why);
        return;
    }
    eval_->setEmptyMessage({});
    if (eval_domains_ != h.domains()) {
        eval_->clearSeries();
        eval_domains_ = h.domains();
        for (const QString& d : eval_domains_) eval_->addSeries(d, true);
    }
    for (int s = 0; s < eval_domains_.size(); ++s) {
        QVector<double> x, y;
        for (const EvalRecord& e : h.evals()) {
            if (!e.domains.contains(eval_domains_[s])) continue;
            x << e.step;
            y << e.domains.value(eval_domains_[s]).loss;
        }
        eval_->setPoints(s, x, y);
    }
}

void RunCharts::updateBias() {
    if (!history_ || history_->steps().isEmpty()) return;
    const int layer = layer_box_->value();
    QString reference_label;
    const QVector<double> reference = history_->biasReference(layer, &reference_label);
    int now_step = 0;
    const QVector<double> now = history_->biasNow(layer, &now_step);
    if (now.isEmpty()) {
        const QString none = tr("Layer %1 has no routing bias: this model routes without one (DeepSeek-V2 style), or "
                                "the layer has no experts.").arg(layer);
        drift_->setEmptyMessage(none);
        bias_caption_->setText(none);
        bias_bars_->setValues({}, tr("expert"), tr("routing bias"));
        return;
    }
    drift_->setEmptyMessage({});
    drift_->setData(history_->biasDrift(layer));
    bias_bars_->setValues(now, tr("expert"), tr("routing bias, layer %1").arg(layer));
    bias_bars_->setReference(reference, reference_label, tr("step %1").arg(now_step));
    bias_caption_->setText(tr("Top: how far each expert's routing bias in layer %1 has moved since %2 (red: raised, so "
                              "the expert is picked more; blue: lowered). Bottom: the bias at step %3 (bars) and at %2 "
                              "(line).").arg(layer).arg(reference_label).arg(now_step));
}

void RunCharts::updateLoad() {
    if (!history_ || history_->evals().isEmpty()) return;
    const QString domain = domain_box_->currentText();
    const QVector<EvalRecord>& evals = history_->evals();
    const int first = evals.first().step, last = evals.last().step;
    const viz::HeatmapData before = history_->domainLoad(domain, 0);
    const viz::HeatmapData after = history_->domainLoad(domain, -1);
    load_before_->setEmptyMessage(before.rows > 0 ? QString() : tr("No held-out text of this domain."));
    load_after_->setEmptyMessage(after.rows > 0 ? QString() : tr("No held-out text of this domain."));
    viz::HeatmapData b = before, a = after;
    b.value_title = first == 0 ? tr("tokens per expert, before training") : tr("tokens per expert, step %1").arg(first);
    a.value_title = tr("tokens per expert, step %1").arg(last);
    load_before_->setData(b);
    load_after_->setData(a);
    const QString start = first == 0 ? tr("before training (step 0)") : tr("at the first evaluation (step %1)").arg(first);
    load_caption_->setText(evals.size() > 1
                               ? tr("Where the held-out \"%1\" text goes, %2 (top) and at step %3 (bottom): grey rows are "
                                    "layers without experts.").arg(domain, start).arg(last)
                               : tr("Where the held-out \"%1\" text goes %2; the comparison appears with the next "
                                    "evaluation.").arg(domain, start));
}

}  // namespace moe::ui::finetune
