// A rows × cols heatmap (QCPColorMap, interpolation off: one crisp cell per value) with a colour
// scale on its own axis, row 0 at the top, a tooltip naming row, column and value, linear or log
// colour scale, optional per-row normalisation (each row as shares of its sum), and a diverging
// palette centred at 0 for signed data. Replots are coalesced (CoalescedPlot).
#pragma once

#include "coalesced_plot.h"
#include "heatmap_data.h"

class QCPColorMap;
class QCPColorScale;
class QCPRange;
class QMouseEvent;

namespace moe::viz {

class HeatmapWidget : public CoalescedPlot {
    Q_OBJECT
public:
    enum class Palette { Sequential, Diverging };
    enum class Scale { Linear, Log };

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

    // CSV of what is shown: header "<row_title>,<col 0>,…", then one line per row with its label.
    // Row-normalised views export the shares; raw data is data().
    bool saveCsv(const QString& path, QString* error = nullptr);

signals:
    void cellHovered(int row, int col);  // -1, -1 when the mouse leaves the grid

protected:
    void applyData() override;

private:
    void showTooltip(QMouseEvent* event);
    void applyAxes();
    void applyColourRange();
    double rowSum(int row) const;

    Palette palette_;
    Scale scale_ = Scale::Linear;
    bool row_normalised_ = false;
    double symmetric_limit_ = 0.0;
    HeatmapData data_;
    QCPColorMap* color_map_ = nullptr;
    QCPColorScale* color_scale_ = nullptr;
};

}  // namespace moe::viz
