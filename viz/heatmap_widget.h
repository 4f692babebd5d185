// A rows × cols heatmap (QCPColorMap, interpolation off: one crisp cell per value) with a colour
// scale on its own axis, row 0 at the top, a tooltip naming row, column and value, linear or log
// colour scale, optional per-row normalisation (each row as shares of its sum), and a diverging
// palette centred at 0 for signed data. Replots are coalesced (CoalescedPlot).
//
// Columns never get narrower than kMinCellWidthPx: when they do not all fit, the plot shows as many
// as fit and a scroll bar under it (or the mouse wheel) pans across the rest, so 256 experts in a
// narrow dock scroll instead of squashing into slivers. Column ticks are whole numbers
// (IndexTicker); a grid whose columns are not numbered from 0 (training steps from 1) sets
// HeatmapData::col_origin. setEmptyMessage() replaces the grid by a sentence saying why it is empty.
#pragma once

#include <QSize>

#include "coalesced_plot.h"
#include "heatmap_data.h"

class QCPColorMap;
class QCPColorScale;
class QCPRange;
class QMouseEvent;
class QScrollBar;

namespace moe::viz {

class HeatmapWidget : public CoalescedPlot {
    Q_OBJECT
public:
    enum class Palette { Sequential, Diverging };
    enum class Scale { Linear, Log };
    static constexpr int kMinCellWidthPx = 6;  // narrower cells cannot be told apart or hovered

    explicit HeatmapWidget(Palette palette = Palette::Sequential, QWidget* parent = nullptr);

    // Stores the data; it is drawn on the next frame. Inconsistent data (values.size() != rows*cols)
    // is refused with a warning naming the sizes.
    void setData(const HeatmapData& data);
    const HeatmapData& data() const { return data_; }

    void setScale(Scale scale);  // Log is ignored for the diverging palette (signed data)
    Scale scale() const { return scale_; }
    void setRowNormalised(bool on);
    bool rowNormalised() const { return row_normalised_; }
    // Diverging palette: fix the colour range to [-limit, limit]; 0 = symmetric around the data's max |v|.
    void setSymmetricLimit(double limit);

    // The value a cell is coloured by: the data, divided by its row's sum when row-normalised; NaN
    // for no data and, on a log scale, for values <= 0 (a log scale cannot show them; they are grey).
    double displayedValue(int row, int col) const;
    // The colour scale's range after the last applied frame.
    QCPRange colourRange() const;
    // The text of the tooltip over a cell, e.g. "layer 3 · expert 17: 42 (share 0.083)".
    QString describeCell(int row, int col) const;
    // The cell under a widget-pixel position of plot(); false outside the grid.
    bool cellAt(const QPointF& pixel, int* row, int* col) const;

    QCPColorMap* colorMap() const { return color_map_; }
    QCPColorScale* colorScale() const { return color_scale_; }

    // The narrowest a column may get before the rest scroll (kMinCellWidthPx by default); 0: every
    // column always on screen, however narrow (steps of a run: the whole run at a glance).
    void setMinimumCellWidth(int px);

    // Columns on screen (all of them unless they would be narrower than the minimum width) and the
    // first one shown; scrollToColumn pans so that column is the first (clamped).
    int visibleColumns() const { return visible_cols_; }
    int firstColumn() const { return first_col_; }
    void scrollToColumn(int col);
    QScrollBar* columnScrollBar() const { return col_bar_; }

    // CSV of what is shown: header "<row_title>,<col 0>,…", then one line per row with its label.
    // Row-normalised views export the shares; raw data is data().
    bool saveCsv(const QString& path, QString* error = nullptr);

signals:
    void cellHovered(int row, int col);  // -1, -1 when the mouse leaves the grid

protected:
    void applyData() override;
    void beginExport() override;
    void endExport() override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void showTooltip(QMouseEvent* event);
    void applyAxes();
    void applyColourRange();
    void applyViewport();  // visible columns from the plot's width, scroll bar, x range
    void showColumns(int visible);
    int columnsThatFit(int axis_width_px) const;
    int rowLabelStep(int axis_height_px) const;
    double rowSum(int row) const;

    Palette palette_;
    Scale scale_ = Scale::Linear;
    bool row_normalised_ = false;
    double symmetric_limit_ = 0.0;
    HeatmapData data_;
    QCPColorMap* color_map_ = nullptr;
    QCPColorScale* color_scale_ = nullptr;
    QScrollBar* col_bar_ = nullptr;
    int min_cell_px_ = kMinCellWidthPx;
    int visible_cols_ = 0;
    int first_col_ = 0;
    int row_label_step_ = 1;
    int screen_cols_ = 0;       // the on-screen view while an export draws every column
    int screen_first_col_ = 0;
    QSize applied_rect_size_;  // the axis rect's size the last applyData() laid the grid out for
    bool exporting_ = false;
};

}  // namespace moe::viz
