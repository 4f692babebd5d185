// Curves over steps: named series of (x, y) points with x a whole-number count (training steps) on
// an IndexTicker axis, drawn as lines — with a marker on every point for sparse series (evaluations
// every N steps) — a legend, linear or log y, a tooltip naming each series' value at the step under
// the mouse, and CSV/PNG export. Appending is cheap (a run streams points in); replots are coalesced
// (CoalescedPlot), so however fast points arrive the widget redraws at most ~30 times a second.
#pragma once

#include <QString>
#include <QVector>

#include "coalesced_plot.h"

class QCPGraph;
class QMouseEvent;

namespace moe::viz {

class TimeSeriesWidget : public CoalescedPlot {
    Q_OBJECT
public:
    explicit TimeSeriesWidget(QWidget* parent = nullptr);

    void setAxisTitles(const QString& x_title, const QString& y_title);
    // A new, empty series; returns its index. markers: draw every point (sparse series).
    int addSeries(const QString& name, bool markers = false);
    void clearSeries();  // no series left
    void clearPoints();  // every series emptied, the series kept

    // A point of `series`; a non-finite y is a gap in the line. Points should arrive in x order.
    void append(int series, double x, double y);
    void setPoints(int series, const QVector<double>& x, const QVector<double>& y);

    int seriesCount() const { return int(series_.size()); }
    QString seriesName(int series) const { return series_.value(series).name; }
    int pointCount(int series) const { return int(series_.value(series).x.size()); }
    const QVector<double>& xs(int series) const { return series_[series].x; }
    const QVector<double>& ys(int series) const { return series_[series].y; }

    // Log y (losses over orders of magnitude); points <= 0 are not drawn on it.
    void setLogY(bool on);
    bool logY() const { return log_y_; }
    // The x axis spans at least [lo, hi] (a run's whole length while it is still going).
    void setXSpan(double lo, double hi);
    // The y axis spans at least [lo, hi] on a linear axis (a share: 0–100 %), padded when data reach it.
    void setYSpan(double lo, double hi);

    // "step 12 · CE 3.21 · total 3.40": every series' point at x (the nearest one at most half a step
    // away per dense series, the nearest overall for sparse ones).
    QString describeX(double x) const;
    // Header: x title, one column per series; one line per x any series has (empty where it has none).
    bool saveCsv(const QString& path, QString* error = nullptr) const;

protected:
    void applyData() override;

private:
    struct Series {
        QString name;
        bool markers = false;
        QVector<double> x, y;
        QCPGraph* graph = nullptr;
    };
    void showTooltip(QMouseEvent* event);
    void applyRanges();

    QVector<Series> series_;
    QString x_title_, y_title_;
    bool log_y_ = false;
    double span_lo_ = 0, span_hi_ = 0;  // hi <= lo: none
    double y_span_lo_ = 0, y_span_hi_ = 0;  // hi <= lo: none
};

}  // namespace moe::viz
