#include "bar_chart_widget.h"

#include <QMouseEvent>
#include <QToolTip>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

#include "csv_writer.h"
#include "index_ticker.h"

namespace moe::viz {

BarChartWidget::BarChartWidget(QWidget* parent) : CoalescedPlot(parent) {
    QCustomPlot* p = plot();
    bars_ = new QCPBars(p->xAxis, p->yAxis);
    bars_->setWidth(0.8);
    bars_->setPen(Qt::NoPen);
    bars_->setBrush(QColor(59, 82, 139));
    line_ = p->addGraph();
    line_->setPen(QPen(QColor(33, 145, 140), 1.5));
    line_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    line_->setVisible(false);
    reference_line_ = p->addGraph();
    reference_line_->setPen(QPen(QColor(213, 94, 0), 1.5));
    reference_line_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, 5));
    reference_line_->setVisible(false);
    p->legend->setVisible(false);
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    p->legend->setBrush(QColor(255, 255, 255, 210));
    p->yAxis->grid()->setZeroLinePen(QPen(Qt::black, 1));
    // Categories are numbered (experts): whole-number ticks only; the tooltip names the one under the mouse.
    p->xAxis->setTicker(QSharedPointer<IndexTicker>::create(p->xAxis, 30));
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseMove, this, &BarChartWidget::showTooltip);
    markDirty();
}

void BarChartWidget::setValues(const QVector<double>& values, const QString& x_title, const QString& y_title) {
    values_ = values;
    x_title_ = x_title;
    y_title_ = y_title;
    markDirty();
}

void BarChartWidget::setReference(const QVector<double>& values, const QString& reference_name,
                                  const QString& values_name) {
    reference_ = values;
    reference_name_ = reference_name;
    values_name_ = values_name;
    markDirty();
}

void BarChartWidget::setStyle(Style style) {
    style_ = style;
    markDirty();
}

void BarChartWidget::setCategoryNames(const QStringList& names) {
    category_names_ = names;
    markDirty();
}

void BarChartWidget::applyTicker() {
    QCPAxis* x = plot()->xAxis;
    if (category_names_.isEmpty()) {
        if (!x->ticker().dynamicCast<IndexTicker>()) x->setTicker(QSharedPointer<IndexTicker>::create(x, 30));
        return;
    }
    auto names = QSharedPointer<QCPAxisTickerText>::create();
    for (int i = 0; i < category_names_.size(); ++i) names->addTick(i, category_names_[i]);
    x->setTicker(names);
}

void BarChartWidget::applyData() {
    applyTicker();
    QVector<double> keys(values_.size());
    for (int i = 0; i < keys.size(); ++i) keys[i] = i;
    bars_->setData(keys, values_, true);
    line_->setData(keys, values_, true);
    bars_->setVisible(style_ == Style::Bars);
    line_->setVisible(style_ == Style::Line);
    QCustomPlot* p = plot();
    // The legend names the two series only when there are two.
    const bool compare = !reference_.isEmpty();
    QVector<double> ref_keys(reference_.size());
    for (int i = 0; i < ref_keys.size(); ++i) ref_keys[i] = i;
    reference_line_->setData(ref_keys, reference_, true);
    reference_line_->setVisible(compare);
    p->legend->clearItems();
    if (compare) {
        bars_->setName(values_name_);
        line_->setName(values_name_);
        reference_line_->setName(reference_name_);
        (style_ == Style::Bars ? static_cast<QCPAbstractPlottable*>(bars_) : line_)->addToLegend();
        reference_line_->addToLegend();
    }
    p->legend->setVisible(compare);
    p->xAxis->setLabel(x_title_);
    p->yAxis->setLabel(y_title_);
    p->xAxis->setRange(-1, std::max<int>(values_.size(), 1));
    double lo = 0, hi = 0;
    for (double v : values_ + reference_) {
        if (std::isnan(v)) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const double pad = (hi - lo) * 0.05;
    p->yAxis->setRange(lo - pad, hi > lo ? hi + pad : lo + 1);
}

QString BarChartWidget::describeCategory(int index) const {
    const QString category = index < category_names_.size() ? category_names_[index]
                                                            : QStringLiteral("%1 %2").arg(x_title_).arg(index);
    QString text = QStringLiteral("%1: %2").arg(category, QString::number(values_.value(index), 'g', 5));
    if (index < reference_.size())
        text += QStringLiteral(" (%1: %2)").arg(reference_name_, QString::number(reference_[index], 'g', 5));
    return text;
}

void BarChartWidget::showTooltip(QMouseEvent* event) {
    const double key = plot()->xAxis->pixelToCoord(event->position().x());
    const int index = int(std::lround(key));
    if (index < 0 || index >= values_.size() || !plot()->axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(), describeCategory(index), plot());
}

bool BarChartWidget::saveCsv(const QString& path, QString* error) const {
    CsvTable table;
    const bool compare = !reference_.isEmpty();
    table.header << (x_title_.isEmpty() ? QStringLiteral("index") : x_title_)
                 << (compare ? values_name_ : y_title_.isEmpty() ? QStringLiteral("value") : y_title_);
    if (compare) table.header << reference_name_;
    auto number = [](double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); };
    for (int i = 0; i < values_.size(); ++i) {
        QStringList line{category_names_.value(i, QString::number(i)), number(values_[i])};
        if (compare) line << (i < reference_.size() ? number(reference_[i]) : QString());
        table.rows << line;
    }
    return writeCsv(path, table, error);
}

}  // namespace moe::viz
