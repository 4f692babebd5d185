// One value per category (e.g. the routing bias of each expert of a layer) as bars or a line, with a
// zero line, whole-number category ticks (IndexTicker), a tooltip naming category and value, an
// optional reference series to compare against (a line over the bars), and CSV/PNG export.
// Replots are coalesced.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

#include "coalesced_plot.h"

class QCPBars;
class QCPGraph;
class QMouseEvent;

namespace moe::viz {

class BarChartWidget : public CoalescedPlot {
    Q_OBJECT
public:
    enum class Style { Bars, Line };

    explicit BarChartWidget(QWidget* parent = nullptr);

    // values[i] is drawn at x = i. Titles name the axes ("expert", "bias").
    void setValues(const QVector<double>& values, const QString& x_title, const QString& y_title);
    const QVector<double>& values() const { return values_; }
    // A second set of values drawn over the bars as a line with markers (the bias at step 0 against
    // the bars' bias now), with a legend naming both; empty `values` removes it.
    void setReference(const QVector<double>& values, const QString& reference_name, const QString& values_name);
    const QVector<double>& reference() const { return reference_; }
    void setStyle(Style style);
    Style style() const { return style_; }
    // Names for the categories (domains rather than numbered experts): the x ticks, tooltips and CSV
    // say them; empty: numbered categories again.
    void setCategoryNames(const QStringList& names);
    const QStringList& categoryNames() const { return category_names_; }

    QString describeCategory(int index) const;  // "expert 5: -0.0123"
    bool saveCsv(const QString& path, QString* error = nullptr) const;

    QCPBars* bars() const { return bars_; }
    QCPGraph* line() const { return line_; }
    QCPGraph* referenceLine() const { return reference_line_; }

protected:
    void applyData() override;

private:
    void showTooltip(QMouseEvent* event);
    void applyTicker();

    QVector<double> values_;
    QVector<double> reference_;
    QString reference_name_, values_name_;
    QCPGraph* reference_line_ = nullptr;
    QString x_title_;
    QStringList category_names_;
    QString y_title_;
    Style style_ = Style::Bars;
    QCPBars* bars_ = nullptr;
    QCPGraph* line_ = nullptr;
};

}  // namespace moe::viz
