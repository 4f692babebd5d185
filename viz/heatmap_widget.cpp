#include "heatmap_widget.h"

#include <QGridLayout>
#include <QMouseEvent>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "colour_gradients.h"
#include "csv_writer.h"
#include "index_ticker.h"

namespace moe::viz {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QString formatValue(double value) {
    if (std::isnan(value)) return QStringLiteral("no data");
    if (value == std::floor(value) && std::abs(value) < 1e15) return QString::number(qint64(value));
    return QString::number(value, 'g', 5);
}

constexpr int kColumnLabelSpacingPx = 30;  // room for a 3-digit expert number and a gap
constexpr int kRowLabelSpacingPx = 16;     // one line of text

// Before the first layout the axis rect has no size: the plot's size less typical axis margins.
constexpr int kAxisMarginGuessPx = 130;

}  // namespace

HeatmapWidget::HeatmapWidget(Palette palette, QWidget* parent) : CoalescedPlot(parent), palette_(palette) {
    QCustomPlot* p = plot();
    p->axisRect()->setupFullAxesBox(false);
    color_map_ = new QCPColorMap(p->xAxis, p->yAxis);
    color_map_->setInterpolate(false);
    color_map_->setTightBoundary(false);
    color_scale_ = new QCPColorScale(p);
    p->plotLayout()->addElement(0, 1, color_scale_);
    color_scale_->setType(QCPAxis::atRight);
    color_map_->setColorScale(color_scale_);
    color_scale_->setGradient(palette_ == Palette::Diverging ? divergingGradient() : sequentialGradient());
    // Keep the colour bar's height aligned with the plot area.
    auto* margins = new QCPMarginGroup(p);
    p->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    color_scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    p->yAxis->setRangeReversed(true);  // row 0 (layer 0) at the top
    p->xAxis->setTicker(QSharedPointer<IndexTicker>::create(p->xAxis, kColumnLabelSpacingPx));
    p->yAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseMove, this, &HeatmapWidget::showTooltip);

    col_bar_ = new QScrollBar(Qt::Horizontal, this);
    col_bar_->setObjectName(QStringLiteral("heatmapColumnScroll"));
    col_bar_->setToolTip(tr("Not every column fits at a readable width: scroll (or use the mouse wheel) to see the rest"));
    col_bar_->hide();
    col_bar_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);  // it must never widen the heatmap
    col_bar_->setMinimumWidth(0);
    grid()->addWidget(col_bar_, 1, 0);
    connect(col_bar_, &QScrollBar::valueChanged, this, [this](int value) {
        if (value == first_col_) return;
        first_col_ = value;
        applyViewport();
        plot()->replot(QCustomPlot::rpQueuedReplot);
    });
    // The axis rect's size is known only after a layout: when it changed, the columns that fit and
    // the row labels are worked out again and drawn once more (the next layout finds the same size).
    connect(p, &QCustomPlot::afterLayout, this, [this] {
        if (exporting_ || plot()->axisRect()->rect().size() == applied_rect_size_) return;
        const QSize size = plot()->axisRect()->rect().size();
        if (columnsThatFit(size.width()) != visible_cols_ || rowLabelStep(size.height()) != row_label_step_) markDirty();
    });

    p->installEventFilter(this);
    markDirty();
}

void HeatmapWidget::setMinimumCellWidth(int px) {
    min_cell_px_ = std::max(0, px);
    markDirty();
}

bool HeatmapWidget::eventFilter(QObject* watched, QEvent* event) {
    // The wheel pans across columns that do not fit (the plot itself does not zoom).
    if (watched == plot() && event->type() == QEvent::Wheel && col_bar_->isVisible()) {
        const auto* wheel = static_cast<QWheelEvent*>(event);
        const QPoint delta = wheel->angleDelta();
        const int steps = (delta.x() != 0 ? delta.x() : delta.y()) / 40;  // 120 per notch = 3 columns
        col_bar_->setValue(col_bar_->value() - steps);
        return true;
    }
    return CoalescedPlot::eventFilter(watched, event);
}

void HeatmapWidget::scrollToColumn(int col) {
    first_col_ = std::clamp(col, 0, std::max(0, data_.cols - std::max(visible_cols_, 1)));
    applyViewport();
    plot()->replot(QCustomPlot::rpQueuedReplot);
}

int HeatmapWidget::columnsThatFit(int axis_width_px) const {
    const int cols = std::max(data_.cols, 1);
    if (min_cell_px_ == 0) return cols;
    if (axis_width_px <= 1) axis_width_px = plot()->width() - kAxisMarginGuessPx;  // not laid out yet
    return std::clamp(axis_width_px / min_cell_px_, 1, cols);
}

int HeatmapWidget::rowLabelStep(int axis_height_px) const {
    if (axis_height_px <= 1) axis_height_px = plot()->height() - kAxisMarginGuessPx / 2;
    return IndexTicker::stepFor(axis_height_px, std::max(data_.rows, 1), kRowLabelSpacingPx);
}

void HeatmapWidget::applyViewport() { showColumns(exporting_ ? std::max(data_.cols, 1) : columnsThatFit(plot()->axisRect()->width())); }

void HeatmapWidget::showColumns(int visible) {
    const int cols = std::max(data_.cols, 1);
    visible_cols_ = std::clamp(visible, 1, cols);
    first_col_ = std::clamp(first_col_, 0, cols - visible_cols_);
    {
        const QSignalBlocker block(col_bar_);
        col_bar_->setRange(0, cols - visible_cols_);
        col_bar_->setPageStep(visible_cols_);
        col_bar_->setSingleStep(1);
        col_bar_->setValue(first_col_);
    }
    if (!exporting_) col_bar_->setVisible(visible_cols_ < cols);
    const double origin = data_.col_origin;
    plot()->xAxis->setRange(origin + first_col_ - 0.5, origin + first_col_ + visible_cols_ - 0.5);
}

void HeatmapWidget::beginExport() {
    screen_cols_ = visible_cols_;
    screen_first_col_ = first_col_;
    exporting_ = true;
    first_col_ = 0;
    applyViewport();  // every column
}

void HeatmapWidget::endExport() {
    // The export laid the plot out at its own size; the screen's view comes back as it was.
    exporting_ = false;
    first_col_ = screen_first_col_;
    showColumns(screen_cols_);
    plot()->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapWidget::setData(const HeatmapData& data) {
    if (!data.isConsistent()) {
        qWarning("HeatmapWidget::setData: %d values and %lld labels for %d rows × %d cols; ignored",
                 int(data.values.size()), qlonglong(data.row_labels.size()), data.rows, data.cols);
        return;
    }
    data_ = data;
    markDirty();
}

void HeatmapWidget::setScale(Scale scale) {
    scale_ = palette_ == Palette::Diverging ? Scale::Linear : scale;
    markDirty();
}

void HeatmapWidget::setRowNormalised(bool on) {
    row_normalised_ = on;
    markDirty();
}

void HeatmapWidget::setSymmetricLimit(double limit) {
    symmetric_limit_ = std::max(0.0, limit);
    markDirty();
}

double HeatmapWidget::rowSum(int row) const {
    double sum = 0;
    for (int c = 0; c < data_.cols; ++c) {
        const double v = data_.at(row, c);
        if (!std::isnan(v)) sum += v;
    }
    return sum;
}

double HeatmapWidget::displayedValue(int row, int col) const {
    double value = data_.at(row, col);
    if (std::isnan(value)) return kNaN;
    if (row_normalised_) {
        const double sum = rowSum(row);
        value = sum != 0 ? value / sum : 0.0;
    }
    if (scale_ == Scale::Log && value <= 0) return kNaN;
    return value;
}

QCPRange HeatmapWidget::colourRange() const { return color_scale_->dataRange(); }

void HeatmapWidget::applyData() {
    applied_rect_size_ = plot()->axisRect()->rect().size();
    applyAxes();
    applyViewport();
    color_map_->setVisible(emptyMessage().isEmpty());
    QCPColorMapData* cells = color_map_->data();
    cells->setSize(data_.cols, data_.rows);
    const double origin = data_.col_origin;
    cells->setRange(QCPRange(origin, origin + std::max(data_.cols - 1, 0)), QCPRange(0, std::max(data_.rows - 1, 0)));
    for (int r = 0; r < data_.rows; ++r) {
        const double sum = row_normalised_ ? rowSum(r) : 1.0;
        for (int c = 0; c < data_.cols; ++c) {
            double value = data_.at(r, c);
            if (row_normalised_ && !std::isnan(value)) value = sum != 0 ? value / sum : 0.0;
            if (scale_ == Scale::Log && !(value > 0)) value = kNaN;
            cells->setCell(c, r, value);
        }
    }
    applyColourRange();
}

void HeatmapWidget::applyAxes() {
    QCustomPlot* p = plot();
    p->xAxis->setLabel(data_.col_title);
    p->yAxis->setLabel(data_.row_title);
    p->yAxis->setRange(-0.5, std::max(data_.rows, 1) - 0.5);
    auto text = qSharedPointerCast<QCPAxisTickerText>(p->yAxis->ticker());
    text->clear();
    // Row labels at whole rows only, as many as fit one line of text apart.
    row_label_step_ = rowLabelStep(p->axisRect()->height());
    for (int r = 0; r < data_.rows; r += row_label_step_) text->addTick(r, data_.rowLabel(r));
    color_scale_->axis()->setLabel(row_normalised_ ? data_.value_title + tr(" (share of row)") : data_.value_title);
}

void HeatmapWidget::applyColourRange() {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    double max_abs = 0;
    for (int r = 0; r < data_.rows; ++r) {
        for (int c = 0; c < data_.cols; ++c) {
            const double v = color_map_->data()->cell(c, r);
            if (std::isnan(v)) continue;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            max_abs = std::max(max_abs, std::abs(v));
        }
    }
    const bool empty = lo > hi;
    QCPRange range;
    if (palette_ == Palette::Diverging) {
        const double limit = symmetric_limit_ > 0 ? symmetric_limit_ : (max_abs > 0 ? max_abs : 1.0);
        range = QCPRange(-limit, limit);  // 0 stays white whatever the data
    } else if (scale_ == Scale::Log) {
        // Only positive cells are left (zeros became NaN above): span them; one decade when flat.
        range = empty ? QCPRange(1, 10) : QCPRange(lo, hi > lo ? hi : lo * 10);
    } else {
        const double bottom = empty ? 0 : std::min(lo, 0.0);
        range = QCPRange(bottom, empty || hi <= bottom ? bottom + 1 : hi);
    }
    color_scale_->setDataScaleType(scale_ == Scale::Log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    color_scale_->axis()->setTicker(scale_ == Scale::Log ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                                          : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    color_scale_->setDataRange(range);
}

QString HeatmapWidget::describeCell(int row, int col) const {
    const QString where = QStringLiteral("%1 %2 · %3 %4")
                              .arg(data_.row_title, data_.rowLabel(row), data_.col_title)
                              .arg(col + data_.col_origin);
    const double raw = data_.at(row, col);
    QString text = where + QStringLiteral(": ") + formatValue(raw);
    if (std::isnan(raw)) return text;
    if (row_normalised_) {
        const double sum = rowSum(row);
        text += QStringLiteral(" (share %1)").arg(QString::number(sum != 0 ? raw / sum : 0.0, 'g', 4));
    }
    if (scale_ == Scale::Log && std::isnan(displayedValue(row, col)))
        text += tr(" — not shown on a log scale");
    return text;
}

bool HeatmapWidget::cellAt(const QPointF& pixel, int* row, int* col) const {
    if (data_.rows == 0 || data_.cols == 0) return false;
    double key = 0, value = 0;
    color_map_->pixelsToCoords(pixel, key, value);
    const int c = int(std::lround(key)) - data_.col_origin;
    const int r = int(std::lround(value));
    if (c < 0 || c >= data_.cols || r < 0 || r >= data_.rows) return false;
    *row = r;
    *col = c;
    return true;
}

void HeatmapWidget::showTooltip(QMouseEvent* event) {
    int row = -1, col = -1;
    if (!plot()->axisRect()->rect().contains(event->pos()) || !cellAt(event->position(), &row, &col)) {
        QToolTip::hideText();
        emit cellHovered(-1, -1);
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(), describeCell(row, col), plot());
    emit cellHovered(row, col);
}

bool HeatmapWidget::saveCsv(const QString& path, QString* error) {
    CsvTable table;
    table.header << (data_.row_title.isEmpty() ? QStringLiteral("row") : data_.row_title);
    for (int c = 0; c < data_.cols; ++c)
        table.header << QStringLiteral("%1 %2").arg(data_.col_title.isEmpty() ? QStringLiteral("col") : data_.col_title).arg(c + data_.col_origin);
    for (int r = 0; r < data_.rows; ++r) {
        QStringList line{data_.rowLabel(r)};
        const double sum = row_normalised_ ? rowSum(r) : 1.0;
        for (int c = 0; c < data_.cols; ++c) {
            // Values, not colours: a zero stays 0 here even where a log scale shows it grey.
            const double raw = data_.at(r, c);
            const double shown = row_normalised_ && !std::isnan(raw) ? (sum != 0 ? raw / sum : 0.0) : raw;
            line << (std::isnan(shown) ? QString() : QString::number(shown, 'g', QLocale::FloatingPointShortest));
        }
        table.rows << line;
    }
    return writeCsv(path, table, error);
}

}  // namespace moe::viz
