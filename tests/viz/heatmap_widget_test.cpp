// HeatmapWidget and BarChartWidget over plain data: every cell holds what was set, the scales treat
// zeros, NaN and signs as documented, tooltips name the cell, bursts of updates are coalesced,
// index axes carry whole numbers only, columns scroll instead of squashing, and an empty state says
// why there is nothing to draw.
#include <QLabel>
#include <QScrollBar>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>
#include <qcustomplot.h>

#include <cmath>

#include "bar_chart_widget.h"
#include "heatmap_widget.h"
#include "index_ticker.h"

using moe::viz::BarChartWidget;
using moe::viz::HeatmapData;
using moe::viz::HeatmapWidget;

namespace {

// rows × cols with value r * 10 + c (so every cell differs), labels "L0", "L1", ...
HeatmapData numberedGrid(int rows, int cols) {
    HeatmapData data = HeatmapData::filled(rows, cols);
    for (int r = 0; r < rows; ++r) {
        data.row_labels << QStringLiteral("L%1").arg(r);
        for (int c = 0; c < cols; ++c) data.at(r, c) = r * 10 + c;
    }
    data.row_title = QStringLiteral("layer");
    data.col_title = QStringLiteral("expert");
    data.value_title = QStringLiteral("tokens");
    return data;
}

// Shows the widget at the given size and lays its plot out there.
void showAt(moe::viz::CoalescedPlot& widget, int width, int height) {
    widget.resize(width, height);
    widget.show();
    QVERIFY(QTest::qWaitForWindowExposed(&widget));
    widget.flush();
    widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
    widget.flush();  // a changed axis-rect size is applied on the next frame
    widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
}

// Every tick of the axis is a whole number and neighbouring labels are at least min_px apart.
void checkWholeNumberTicks(QCPAxis* axis, int min_px, const char* what) {
    const QVector<double> ticks = axis->tickVector();
    QVERIFY2(!ticks.isEmpty(), what);
    for (double t : ticks) QVERIFY2(t == std::floor(t), qPrintable(QStringLiteral("%1: tick %2").arg(what).arg(t)));
    for (int i = 1; i < ticks.size(); ++i) {
        const double gap = std::abs(axis->coordToPixel(ticks[i]) - axis->coordToPixel(ticks[i - 1]));
        QVERIFY2(gap >= min_px - 0.5, qPrintable(QStringLiteral("%1: ticks %2 px apart").arg(what).arg(gap)));
    }
}

}  // namespace

class HeatmapWidgetTest : public QObject {
    Q_OBJECT
private slots:
    void cellsHoldTheDataAsSet() {
        HeatmapWidget widget;
        const HeatmapData data = numberedGrid(3, 5);
        widget.setData(data);
        widget.flush();
        QCPColorMapData* cells = widget.colorMap()->data();
        QCOMPARE(cells->keySize(), 5);
        QCOMPARE(cells->valueSize(), 3);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 5; ++c) QCOMPARE(cells->cell(c, r), double(r * 10 + c));
        QVERIFY(!widget.colorMap()->interpolate());
        QVERIFY(widget.plot()->yAxis->rangeReversed());  // row 0 at the top
        QCOMPARE(widget.colourRange().lower, 0.0);
        QCOMPARE(widget.colourRange().upper, 24.0);
    }

    void rowZeroIsDrawnAtTheTop() {
        HeatmapWidget widget;
        widget.resize(400, 300);
        widget.show();
        QVERIFY(QTest::qWaitForWindowExposed(&widget));
        widget.setData(numberedGrid(4, 4));
        widget.flush();
        widget.plot()->replot(QCustomPlot::rpImmediateRefresh);  // lays the axes out at this size
        const double y_row0 = widget.plot()->yAxis->coordToPixel(0);
        const double y_row3 = widget.plot()->yAxis->coordToPixel(3);
        QVERIFY2(y_row0 < y_row3, "row 0 must be above row 3 on screen");
        int row = -1, col = -1;
        QVERIFY(widget.cellAt(QPointF(widget.plot()->xAxis->coordToPixel(2), y_row3), &row, &col));
        QCOMPARE(row, 3);
        QCOMPARE(col, 2);
        QVERIFY(!widget.cellAt(QPointF(widget.plot()->xAxis->coordToPixel(9), y_row3), &row, &col));
    }

    void tooltipNamesRowColumnAndValue() {
        HeatmapWidget widget;
        widget.setData(numberedGrid(3, 5));
        widget.flush();
        QCOMPARE(widget.describeCell(2, 4), QStringLiteral("layer L2 · expert 4: 24"));
    }

    void nanCellsAreNoData() {
        HeatmapWidget widget;
        HeatmapData data = numberedGrid(2, 3);
        for (int c = 0; c < 3; ++c) data.at(0, c) = std::nan("");  // a dense layer: no routing
        widget.setData(data);
        widget.flush();
        QVERIFY(std::isnan(widget.colorMap()->data()->cell(1, 0)));
        QCOMPARE(widget.colorMap()->data()->cell(1, 1), 11.0);
        QVERIFY(widget.describeCell(0, 1).endsWith(QStringLiteral("no data")));
        QCOMPARE(widget.colourRange().lower, 0.0);
        QCOMPARE(widget.colourRange().upper, 12.0);
    }

    void logScaleLeavesZerosOutOfTheRange() {
        HeatmapWidget widget;
        HeatmapData data = HeatmapData::filled(2, 3);
        data.values = {0, 4, 100, 0, 0, 2};
        widget.setData(data);
        widget.setScale(HeatmapWidget::Scale::Log);
        widget.flush();
        // Zeros cannot sit on a log axis: they become grey "no data" cells and do not drag the
        // range down to 0 (which would make log(0) = -inf the lower end).
        QVERIFY(std::isnan(widget.colorMap()->data()->cell(0, 0)));
        QCOMPARE(widget.colorMap()->data()->cell(1, 0), 4.0);
        QCOMPARE(widget.colourRange().lower, 2.0);
        QCOMPARE(widget.colourRange().upper, 100.0);
        QCOMPARE(widget.colorScale()->dataScaleType(), QCPAxis::stLogarithmic);
        QVERIFY(widget.describeCell(0, 0).contains(QStringLiteral("not shown on a log scale")));
        // Back to linear: the zeros are ordinary cells again.
        widget.setScale(HeatmapWidget::Scale::Linear);
        widget.flush();
        QCOMPARE(widget.colorMap()->data()->cell(0, 0), 0.0);
        QCOMPARE(widget.colourRange().lower, 0.0);
    }

    void logScaleOfAllZerosStillHasARange() {
        HeatmapWidget widget;
        widget.setData(HeatmapData::filled(2, 2));
        widget.setScale(HeatmapWidget::Scale::Log);
        widget.flush();
        QVERIFY(widget.colourRange().lower > 0);
        QVERIFY(widget.colourRange().upper > widget.colourRange().lower);
    }

    void rowNormalisationShowsShares() {
        HeatmapWidget widget;
        HeatmapData data = HeatmapData::filled(2, 4);
        data.values = {1, 1, 2, 4, 0, 0, 0, 0};
        widget.setData(data);
        widget.setRowNormalised(true);
        widget.flush();
        QCOMPARE(widget.colorMap()->data()->cell(3, 0), 0.5);
        QCOMPARE(widget.colorMap()->data()->cell(0, 0), 0.125);
        QCOMPARE(widget.colorMap()->data()->cell(2, 1), 0.0);  // an empty row stays 0, not NaN
        QCOMPARE(widget.displayedValue(0, 2), 0.25);
        QCOMPARE(widget.data().at(0, 3), 4.0);  // the stored data is untouched
    }

    void divergingPaletteIsCentredAtZero() {
        HeatmapWidget widget(HeatmapWidget::Palette::Diverging);
        HeatmapData data = HeatmapData::filled(1, 3);
        data.values = {-0.5, 0.1, 2.0};
        widget.setData(data);
        widget.setScale(HeatmapWidget::Scale::Log);  // ignored: signed data
        widget.flush();
        QCOMPARE(widget.colourRange().lower, -2.0);
        QCOMPARE(widget.colourRange().upper, 2.0);
        QCOMPARE(widget.colorMap()->data()->cell(0, 0), -0.5);
        widget.setSymmetricLimit(4);
        widget.flush();
        QCOMPARE(widget.colourRange().lower, -4.0);
        // 0 maps to the white middle of the gradient.
        const QRgb middle = widget.colorScale()->gradient().color(0.0, QCPRange(-4, 4));
        // (256 levels: the middle level is within one step of the white stop.)
        QVERIFY(qAbs(qRed(middle) - 247) <= 2 && qAbs(qGreen(middle) - 247) <= 2 && qAbs(qBlue(middle) - 247) <= 2);
    }

    void emptyDataIsDrawnAsAnEmptyGrid() {
        HeatmapWidget widget;
        widget.setData(numberedGrid(2, 2));
        widget.flush();
        widget.setData(HeatmapData{});  // e.g. the specialisation view before any run
        widget.flush();
        QCOMPARE(widget.colorMap()->data()->keySize(), 0);
        QVERIFY(widget.colourRange().upper > widget.colourRange().lower);
        QTemporaryDir dir;
        QVERIFY(widget.savePng(dir.filePath(QStringLiteral("empty.png")), 200, 100));
    }

    void inconsistentDataIsRefused() {
        HeatmapWidget widget;
        widget.setData(numberedGrid(2, 2));
        HeatmapData broken = numberedGrid(2, 2);
        broken.values.removeLast();
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression("3 values .* 2 rows × 2 cols"));
        widget.setData(broken);
        QCOMPARE(widget.data().values.size(), 4);
    }

    void burstsOfUpdatesAreCoalesced() {
        HeatmapWidget widget;
        // A dock-sized heatmap (at its 55×50 size hint 64 columns would not fit, and the layout
        // that adds the column scroll bar would count as a replot of its own).
        widget.resize(600, 400);
        widget.show();
        QVERIFY(QTest::qWaitForWindowExposed(&widget));
        QTest::qWait(100);
        const int before = widget.replotCount();
        for (int i = 0; i < 200; ++i) {
            HeatmapData data = numberedGrid(8, 64);
            data.at(0, 0) = i;
            widget.setData(data);
        }
        QTRY_VERIFY_WITH_TIMEOUT(widget.replotCount() > before, 2000);
        QTest::qWait(150);
        const int burst_replots = widget.replotCount() - before;
        QVERIFY2(burst_replots <= 2, qPrintable(QStringLiteral("%1 replots for one burst").arg(burst_replots)));
        QCOMPARE(widget.colorMap()->data()->cell(0, 0), 199.0);  // the latest data won

        // A steady 200 Hz stream for 0.5 s is drawn at the ~30 Hz frame rate, not 100 times.
        const int stream_start = widget.replotCount();
        QElapsedTimer clock;
        clock.start();
        int updates = 0;
        while (clock.elapsed() < 500) {
            widget.setData(numberedGrid(8, 64));
            ++updates;
            QTest::qWait(5);
        }
        QTest::qWait(100);
        const int stream_replots = widget.replotCount() - stream_start;
        QVERIFY2(stream_replots >= 3 && stream_replots <= 500 / moe::viz::CoalescedPlot::kFrameIntervalMs + 4,
                 qPrintable(QStringLiteral("%1 replots for %2 updates").arg(stream_replots).arg(updates)));
        QVERIFY(updates > stream_replots * 2);
    }

    // Issue #14 item 6: a 10-expert bar chart drew ticks at 2.5, 5, 7.5 (QCustomPlot's default
    // "readable" steps). Expert numbers are whole numbers at every width and count.
    void indexAxesShowWholeNumbersOnly() {
        QCOMPARE(moe::viz::IndexTicker::stepFor(800, 10, 30), 1);
        QCOMPARE(moe::viz::IndexTicker::stepFor(200, 10, 30), 2);
        QCOMPARE(moe::viz::IndexTicker::stepFor(300, 64, 30), 10);
        QCOMPARE(moe::viz::IndexTicker::stepFor(40, 64, 30), 50);
        for (int count : {3, 10, 64, 256}) {
            for (int width : {260, 500, 1100}) {
                BarChartWidget chart;
                chart.setValues(QVector<double>(count, 0.5), QStringLiteral("expert"), QStringLiteral("bias"));
                showAt(chart, width, 300);
                checkWholeNumberTicks(chart.plot()->xAxis, 30, qPrintable(QStringLiteral("bars %1 @ %2 px").arg(count).arg(width)));
                HeatmapWidget heatmap;
                heatmap.setData(numberedGrid(4, count));
                showAt(heatmap, width, 300);
                checkWholeNumberTicks(heatmap.plot()->xAxis, 30, qPrintable(QStringLiteral("heatmap %1 @ %2 px").arg(count).arg(width)));
            }
        }
    }

    // Ticks are spaced for the size the axis has now, also after the widget shrank (QCustomPlot makes
    // ticks before it lays the axes out at a new size; the bias bar chart drew 2-steps 10 px apart).
    void ticksFollowAResize() {
        BarChartWidget chart;
        chart.setValues(QVector<double>(64, 0.5), QStringLiteral("expert"), QStringLiteral("bias"));
        showAt(chart, 1100, 300);
        chart.resize(480, 300);
        QTest::qWait(200);  // the resize's replots
        checkWholeNumberTicks(chart.plot()->xAxis, 30, "bars after shrinking to 480 px");
    }

    // ... and hovering names the exact expert, whatever the ticks skip.
    void hoverNamesTheExpert() {
        // (One window at a time: the offscreen platform sends a moved cursor to the first window under it.)
        {
            HeatmapWidget heatmap;
            heatmap.setData(numberedGrid(4, 64));
            showAt(heatmap, 700, 300);
            QSignalSpy hovered(&heatmap, &HeatmapWidget::cellHovered);
            const QPoint at(int(heatmap.plot()->xAxis->coordToPixel(37)), int(heatmap.plot()->yAxis->coordToPixel(2)));
            QTest::mouseMove(heatmap.plot(), at);
            QTRY_VERIFY(!hovered.isEmpty());
            QCOMPARE(hovered.last().at(0).toInt(), 2);
            QCOMPARE(hovered.last().at(1).toInt(), 37);
            QCOMPARE(QToolTip::text(), QStringLiteral("layer L2 · expert 37: 57"));
        }
        BarChartWidget chart;
        QVector<double> values(10);
        for (int i = 0; i < 10; ++i) values[i] = i * 0.1;
        chart.setValues(values, QStringLiteral("expert"), QStringLiteral("bias"));
        showAt(chart, 500, 300);
        QTest::mouseMove(chart.plot(), QPoint(int(chart.plot()->xAxis->coordToPixel(7)),
                                              int(chart.plot()->yAxis->coordToPixel(0.35))));
        QTRY_COMPARE(QToolTip::text(), QStringLiteral("expert 7: 0.7"));
    }

    // Issue #14 item 1: 64 experts in a ~40 px wide heatmap were slivers. Columns keep a readable
    // width and the rest scroll; what fits is shown whole with no scroll bar.
    void columnsScrollInsteadOfSquashing() {
        HeatmapWidget heatmap;
        heatmap.setData(numberedGrid(8, 256));
        showAt(heatmap, 500, 300);
        QVERIFY2(heatmap.visibleColumns() < 256, qPrintable(QString::number(heatmap.visibleColumns())));
        QVERIFY(heatmap.visibleColumns() >= 20);
        QVERIFY(heatmap.columnScrollBar()->isVisible());
        QCOMPARE(heatmap.columnScrollBar()->maximum(), 256 - heatmap.visibleColumns());
        const double cell_px = heatmap.plot()->xAxis->coordToPixel(1) - heatmap.plot()->xAxis->coordToPixel(0);
        QVERIFY2(cell_px >= HeatmapWidget::kMinCellWidthPx - 0.01, qPrintable(QString::number(cell_px)));
        heatmap.scrollToColumn(100);
        QCOMPARE(heatmap.firstColumn(), 100);
        QCOMPARE(heatmap.plot()->xAxis->range().lower, 99.5);
        heatmap.columnScrollBar()->setValue(heatmap.columnScrollBar()->maximum());
        QCOMPARE(heatmap.plot()->xAxis->range().upper, 255.5);
        // An export draws every column, then the screen view comes back.
        QTemporaryDir dir;
        QVERIFY(heatmap.savePng(dir.filePath(QStringLiteral("all.png")), 900, 400));
        QCOMPARE(heatmap.plot()->xAxis->range().upper, 255.5);
        QVERIFY(heatmap.visibleColumns() < 256);

        heatmap.setData(numberedGrid(8, 64));
        showAt(heatmap, 900, 300);
        QCOMPARE(heatmap.visibleColumns(), 64);
        QVERIFY(!heatmap.columnScrollBar()->isVisible());
        QCOMPARE(heatmap.plot()->xAxis->range().lower, -0.5);
        QCOMPARE(heatmap.plot()->xAxis->range().upper, 63.5);
    }

    // Issue #14 item 7: with no data the grid must not just go one flat colour.
    void emptyMessageReplacesTheGrid() {
        HeatmapWidget heatmap;
        heatmap.setData(HeatmapData::filled(4, 8));
        showAt(heatmap, 500, 300);
        QVERIFY(!heatmap.isShowingEmptyMessage());
        heatmap.setEmptyMessage(QStringLiteral("No tokens in the last 10 s."));
        heatmap.flush();
        QVERIFY(heatmap.isShowingEmptyMessage());
        QVERIFY(!heatmap.colorMap()->visible());
        auto* label = heatmap.findChild<QLabel*>(QStringLiteral("plotEmptyMessage"));
        QVERIFY(label);
        QCOMPARE(label->text(), QStringLiteral("No tokens in the last 10 s."));
        QVERIFY(heatmap.plot()->rect().contains(label->geometry()));
        heatmap.setEmptyMessage(QString());
        heatmap.flush();
        QVERIFY(!heatmap.isShowingEmptyMessage());
        QVERIFY(heatmap.colorMap()->visible());
    }

    void barChartHoldsItsValues() {
        BarChartWidget chart;
        chart.setValues({0.5, -0.25, 0.0, 1.5}, QStringLiteral("expert"), QStringLiteral("bias"));
        chart.flush();
        QCOMPARE(chart.bars()->data()->size(), 4);
        QCOMPARE(chart.bars()->data()->at(1)->value, -0.25);
        QCOMPARE(chart.bars()->data()->at(3)->key, 3.0);
        QVERIFY(chart.bars()->visible());
        QVERIFY(chart.plot()->yAxis->range().lower < -0.25);
        QCOMPARE(chart.describeCategory(1), QStringLiteral("expert 1: -0.25"));
        chart.setStyle(BarChartWidget::Style::Line);
        chart.flush();
        QVERIFY(chart.line()->visible());
        QVERIFY(!chart.bars()->visible());
        QCOMPARE(chart.line()->data()->at(3)->value, 1.5);
    }
};

QTEST_MAIN(HeatmapWidgetTest)
#include "heatmap_widget_test.moc"
