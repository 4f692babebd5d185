#include "time_series_widget.h"

#include <QMouseEvent>
#include <QToolTip>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "colour_gradients.h"
#include "csv_writer.h"
#include "index_ticker.h"

namespace moe::viz {

namespace {

constexpr int kStepLabelSpacingPx = 50;  // room for a 5-digit step number and a gap
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString formatValue(double v) { return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("—"); }

// Index of the point of sorted `xs` nearest to x (-1 when empty).
int nearestIndex(const QVector<double>& xs, double x) {
    if (xs.isEmpty()) return -1;
    const auto it = std::lower_bound(xs.begin(), xs.end(), x);
    if (it == xs.begin()) return 0;
    if (it == xs.end()) return int(xs.size()) - 1;
    const int hi = int(it - xs.begin());
    return x - xs[hi - 1] <= xs[hi] - x ? hi - 1 : hi;
}

}  // namespace

TimeSeriesWidget::TimeSeriesWidget(QWidget* parent) : CoalescedPlot(parent) {
    QCustomPlot* p = plot();
    p->xAxis->setTicker(QSharedPointer<IndexTicker>::create(p->xAxis, kStepLabelSpacingPx));
    p->legend->setVisible(true);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    p->legend->setFont(small);
    p->legend->setBrush(QColor(255, 255, 255, 210));
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseMove, this, &TimeSeriesWidget::showTooltip);
    markDirty();
}

void TimeSeriesWidget::setAxisTitles(const QString& x_title, const QString& y_title) {
    x_title_ = x_title;
    y_title_ = y_title;
    markDirty();
}

int TimeSeriesWidget::addSeries(const QString& name, bool markers) {
    Series s;
    s.name = name;
    s.markers = markers;
    s.graph = plot()->addGraph();
    s.graph->setName(name);
    s.graph->setPen(QPen(seriesColour(int(series_.size())), 1.5));
    if (markers) s.graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    series_.push_back(s);
    markDirty();
    return int(series_.size()) - 1;
}

void TimeSeriesWidget::clearSeries() {
    for (Series& s : series_) plot()->removeGraph(s.graph);
    series_.clear();
    markDirty();
}

void TimeSeriesWidget::clearPoints() {
    for (Series& s : series_) {
        s.x.clear();
        s.y.clear();
    }
    markDirty();
}

void TimeSeriesWidget::append(int series, double x, double y) {
    if (series < 0 || series >= series_.size()) return;
    series_[series].x.push_back(x);
    series_[series].y.push_back(y);
    markDirty();
}

void TimeSeriesWidget::setPoints(int series, const QVector<double>& x, const QVector<double>& y) {
    if (series < 0 || series >= series_.size() || x.size() != y.size()) return;
    series_[series].x = x;
    series_[series].y = y;
    markDirty();
}

void TimeSeriesWidget::setLogY(bool on) {
    log_y_ = on;
    QCPAxis* y = plot()->yAxis;
    y->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    y->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    markDirty();
}

void TimeSeriesWidget::setXSpan(double lo, double hi) {
    span_lo_ = lo;
    span_hi_ = hi;
    markDirty();
}

void TimeSeriesWidget::setYSpan(double lo, double hi) {
    y_span_lo_ = lo;
    y_span_hi_ = hi;
    markDirty();
}

void TimeSeriesWidget::applyData() {
    for (Series& s : series_) {
        QVector<double> y = s.y;
        // A log axis cannot place 0 or a negative value: leave a gap rather than a line to -inf.
        if (log_y_)
            for (double& v : y)
                if (!(v > 0)) v = kNaN;
        s.graph->setData(s.x, y, true);
    }
    plot()->xAxis->setLabel(x_title_);
    plot()->yAxis->setLabel(y_title_);
    plot()->legend->setVisible(series_.size() > 1);
    applyRanges();
}

void TimeSeriesWidget::applyRanges() {
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
    double y_lo = x_lo, y_hi = -x_lo;
    for (const Series& s : series_) {
        for (int i = 0; i < s.x.size(); ++i) {
            x_lo = std::min(x_lo, s.x[i]);
            x_hi = std::max(x_hi, s.x[i]);
            const double v = s.y[i];
            if (!std::isfinite(v) || (log_y_ && v <= 0)) continue;
            y_lo = std::min(y_lo, v);
            y_hi = std::max(y_hi, v);
        }
    }
    if (span_hi_ > span_lo_) {
        x_lo = std::min(x_lo, span_lo_);
        x_hi = std::max(x_hi, span_hi_);
    }
    if (x_lo > x_hi) {
        x_lo = 0;
        x_hi = 1;
    } else if (x_lo == x_hi) {
        x_lo -= 1;
        x_hi += 1;
    }
    plot()->xAxis->setRange(x_lo, x_hi);
    if (!log_y_ && y_span_hi_ > y_span_lo_) {
        y_lo = std::min(y_lo, y_span_lo_);
        y_hi = std::max(y_hi, y_span_hi_);
    }
    if (y_lo > y_hi) {
        plot()->yAxis->setRange(log_y_ ? QCPRange(1, 10) : QCPRange(0, 1));
    } else if (log_y_) {
        plot()->yAxis->setRange(y_lo / 1.25, y_hi * 1.25);
    } else {
        const double pad = y_hi > y_lo ? (y_hi - y_lo) * 0.06 : std::max(std::abs(y_hi) * 0.1, 1e-9);
        plot()->yAxis->setRange(y_lo - pad, y_hi + pad);
    }
}

QString TimeSeriesWidget::describeX(double x) const {
    QStringList parts;
    for (const Series& s : series_) {
        const int i = nearestIndex(s.x, x);
        if (i < 0) continue;
        if (s.markers) {
            // A sparse series: its nearest point, with its own step when that is not this one.
            const QString at = s.x[i] == x ? QString() : QStringLiteral(" (%1 %2)").arg(x_title_).arg(s.x[i]);
            parts << QStringLiteral("%1 %2%3").arg(s.name, formatValue(s.y[i]), at);
        } else if (std::abs(s.x[i] - x) <= 0.5) {
            parts << QStringLiteral("%1 %2").arg(s.name, formatValue(s.y[i]));
        }
    }
    if (parts.isEmpty()) return {};
    return QStringLiteral("%1 %2 · ").arg(x_title_).arg(qint64(std::llround(x))) + parts.join(QStringLiteral(" · "));
}

void TimeSeriesWidget::showTooltip(QMouseEvent* event) {
    if (!plot()->axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    const double x = std::round(plot()->xAxis->pixelToCoord(event->position().x()));
    const QString text = describeX(x);
    if (text.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(event->globalPosition().toPoint(), text, plot());
}

bool TimeSeriesWidget::saveCsv(const QString& path, QString* error) const {
    std::set<double> all_x;
    for (const Series& s : series_) all_x.insert(s.x.begin(), s.x.end());
    CsvTable table;
    table.header << (x_title_.isEmpty() ? QStringLiteral("x") : x_title_);
    for (const Series& s : series_) table.header << s.name;
    for (double x : all_x) {
        QStringList line{QString::number(x, 'g', QLocale::FloatingPointShortest)};
        for (const Series& s : series_) {
            const int i = nearestIndex(s.x, x);
            const bool has = i >= 0 && s.x[i] == x && std::isfinite(s.y[i]);
            line << (has ? QString::number(s.y[i], 'g', QLocale::FloatingPointShortest) : QString());
        }
        table.rows << line;
    }
    return writeCsv(path, table, error);
}

}  // namespace moe::viz
