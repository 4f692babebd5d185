// The widgets the fine-tune panel draws a run with: TimeSeriesWidget (curves over steps: points as
// appended, log scale gaps, the tooltip at a step, CSV of the union of steps, whole-number step
// ticks, coalesced replots), a heatmap whose columns are steps numbered from 1 and all on screen,
// and a bar chart with a reference series (the bias now against step 0).
#include <QTemporaryDir>
#include <QtTest>
#include <qcustomplot.h>

#include <cmath>

#include "bar_chart_widget.h"
#include "csv_test_reader.h"
#include "heatmap_widget.h"
#include "time_series_widget.h"

using moe::viz::BarChartWidget;
using moe::viz::HeatmapData;
using moe::viz::HeatmapWidget;
using moe::viz::TimeSeriesWidget;

namespace {

void showAt(moe::viz::CoalescedPlot& widget, int width, int height) {
    widget.resize(width, height);
    widget.show();
    QVERIFY(QTest::qWaitForWindowExposed(&widget));
    widget.flush();
    widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
    widget.flush();
    widget.plot()->replot(QCustomPlot::rpImmediateRefresh);
}
}  // namespace

class TimeSeriesTest : public QObject {
    Q_OBJECT
private slots:
    void pointsArriveInTheirSeries() {
        TimeSeriesWidget w;
        w.setAxisTitles("step", "loss");
        const int ce = w.addSeries("CE");
        const int eval = w.addSeries("eval", true);
        for (int s = 1; s <= 5; ++s) w.append(ce, s, 10.0 / s);
        w.append(eval, 0, 9.0);
        w.append(eval, 5, 2.5);
        w.flush();
        QCOMPARE(w.seriesCount(), 2);
        QCOMPARE(w.pointCount(ce), 5);
        QCOMPARE(w.pointCount(eval), 2);
        QCPGraph* g = w.plot()->graph(ce);
        QCOMPARE(g->dataCount(), 5);
        QCOMPARE(g->data()->at(2)->key, 3.0);
        QCOMPARE(g->data()->at(2)->value, 10.0 / 3);
        QVERIFY(w.plot()->graph(eval)->scatterStyle().shape() != QCPScatterStyle::ssNone);  // sparse: markers
        QVERIFY(w.plot()->legend->visible());
        // both axes span the data
        QVERIFY(w.plot()->xAxis->range().lower <= 0 && w.plot()->xAxis->range().upper >= 5);
        QVERIFY(w.plot()->yAxis->range().lower <= 2 && w.plot()->yAxis->range().upper >= 10);
    }

    void theXAxisSpansTheWholeRunWhileItGoes() {
        TimeSeriesWidget w;
        const int s = w.addSeries("lr");
        w.append(s, 1, 1e-4);
        w.append(s, 2, 2e-4);
        w.setXSpan(0, 200);
        w.flush();
        QCOMPARE(w.plot()->xAxis->range().lower, 0.0);
        QCOMPARE(w.plot()->xAxis->range().upper, 200.0);
    }

    void aLogScaleLeavesGapsForZeros() {
        TimeSeriesWidget w;
        const int s = w.addSeries("balance");
        w.append(s, 1, 0.0);
        w.append(s, 2, 1e-4);
        w.append(s, 3, 1e-2);
        w.setLogY(true);
        w.flush();
        QVERIFY(std::isnan(w.plot()->graph(s)->data()->at(0)->value));  // 0 cannot be placed on a log axis
        QCOMPARE(w.plot()->graph(s)->data()->at(1)->value, 1e-4);
        QCOMPARE(w.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(w.plot()->yAxis->range().lower > 0 && w.plot()->yAxis->range().lower < 1e-4);
        QCOMPARE(w.ys(s).first(), 0.0);  // the data is kept as given
    }

    void theTooltipNamesEverySeriesAtTheStep() {
        TimeSeriesWidget w;
        w.setAxisTitles("step", "loss");
        const int ce = w.addSeries("CE");
        const int eval = w.addSeries("code", true);
        for (int s = 1; s <= 20; ++s) w.append(ce, s, s * 0.5);
        w.append(eval, 0, 7.0);
        w.append(eval, 10, 3.25);
        QCOMPARE(w.describeX(12), QStringLiteral("step 12 · CE 6 · code 3.25 (step 10)"));
        QCOMPARE(w.describeX(10), QStringLiteral("step 10 · CE 5 · code 3.25"));
        QCOMPARE(w.describeX(40), QStringLiteral("step 40 · code 3.25 (step 10)"));  // CE has nothing there
    }

    void csvHasOneLinePerStepOfAnySeries() {
        TimeSeriesWidget w;
        w.setAxisTitles("step", "loss");
        const int ce = w.addSeries("CE");
        const int eval = w.addSeries("eval, code", true);
        w.append(ce, 1, 4.5);
        w.append(ce, 2, 4.25);
        w.append(eval, 0, 5.0);
        w.append(eval, 2, 4.0);
        QTemporaryDir dir;
        const QString path = dir.filePath("loss.csv");
        QString error;
        QVERIFY2(w.saveCsv(path, &error), qPrintable(error));
        const QVector<QStringList> rows = moe::viz::test::readCsv(path, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(rows.size(), 4);
        QCOMPARE(rows[0], (QStringList{"step", "CE", "eval, code"}));
        QCOMPARE(rows[1], (QStringList{"0", "", "5"}));
        QCOMPARE(rows[2], (QStringList{"1", "4.5", ""}));
        QCOMPARE(rows[3], (QStringList{"2", "4.25", "4"}));
    }

    void stepTicksAreWholeNumbers() {
        TimeSeriesWidget w;
        const int s = w.addSeries("CE");
        for (int i = 1; i <= 7; ++i) w.append(s, i, 1.0 / i);
        showAt(w, 500, 300);
        const QVector<double> ticks = w.plot()->xAxis->tickVector();
        QVERIFY(!ticks.isEmpty());
        for (double t : ticks) QCOMPARE(t, std::floor(t));
    }

    void aBurstOfPointsIsOneReplot() {
        TimeSeriesWidget w;
        const int s = w.addSeries("CE");
        showAt(w, 400, 300);
        QTRY_VERIFY(!w.isDirty());
        QTest::qWait(100);
        const int before = w.replotCount();
        for (int i = 0; i < 500; ++i) w.append(s, i, i);
        QTRY_VERIFY(!w.isDirty());
        QTest::qWait(100);
        QVERIFY2(w.replotCount() - before <= 2, qPrintable(QString::number(w.replotCount() - before)));
        QCOMPARE(w.plot()->graph(s)->dataCount(), 500);
    }

    void stepColumnsAreNumberedFromTheirOriginAndAllShown() {
        HeatmapData d = HeatmapData::filled(2, 300, 0.0);
        d.col_origin = 1;  // steps 1..300
        d.row_title = "layer";
        d.col_title = "step";
        d.at(1, 0) = 7;    // step 1
        d.at(0, 299) = 9;  // step 300
        HeatmapWidget h;
        h.setMinimumCellWidth(0);
        h.setData(d);
        showAt(h, 400, 250);  // far fewer pixels than steps: all shown anyway, no scroll bar
        QCOMPARE(h.visibleColumns(), 300);
        QVERIFY(h.columnScrollBar()->isHidden());
        QCOMPARE(h.plot()->xAxis->range().lower, 0.5);
        QCOMPARE(h.plot()->xAxis->range().upper, 300.5);
        QCOMPARE(h.describeCell(1, 0), QStringLiteral("layer 1 · step 1: 7"));
        QCOMPARE(h.describeCell(0, 299), QStringLiteral("layer 0 · step 300: 9"));
        int row = -1, col = -1;
        const double x = h.plot()->xAxis->coordToPixel(300), y = h.plot()->yAxis->coordToPixel(0);
        QVERIFY(h.cellAt(QPointF(x, y), &row, &col));
        QCOMPARE(col, 299);
        QCOMPARE(row, 0);
        // and the CSV names the steps
        QTemporaryDir dir;
        QString error;
        QVERIFY(h.saveCsv(dir.filePath("m.csv"), &error));
        const QVector<QStringList> rows = moe::viz::test::readCsv(dir.filePath("m.csv"), &error);
        QCOMPARE(rows[0][1], QStringLiteral("step 1"));
        QCOMPARE(rows[0].last(), QStringLiteral("step 300"));
    }

    void aBarChartComparesWithItsReference() {
        BarChartWidget b;
        b.setValues({0.01, -0.02, 0.0}, "expert", "routing bias");
        b.setReference({0.0, -0.01, 0.005}, "step 0", "step 30");
        b.flush();
        QVERIFY(b.referenceLine()->visible());
        QCOMPARE(b.referenceLine()->dataCount(), 3);
        QVERIFY(b.plot()->legend->visible());
        QCOMPARE(b.plot()->legend->itemCount(), 2);
        QCOMPARE(b.describeCategory(1), QStringLiteral("expert 1: -0.02 (step 0: -0.01)"));
        QTemporaryDir dir;
        QString error;
        QVERIFY(b.saveCsv(dir.filePath("b.csv"), &error));
        const QVector<QStringList> rows = moe::viz::test::readCsv(dir.filePath("b.csv"), &error);
        QCOMPARE(rows[0], (QStringList{"expert", "step 30", "step 0"}));
        QCOMPARE(rows[3], (QStringList{"2", "0", "0.005"}));
        // the y range holds both series
        QVERIFY(b.plot()->yAxis->range().lower < -0.02 && b.plot()->yAxis->range().upper > 0.01);
        b.setReference({}, {}, {});
        b.flush();
        QVERIFY(!b.referenceLine()->visible());
        QVERIFY(!b.plot()->legend->visible());
    }

    void anEmptyPlotSaysWhy() {
        TimeSeriesWidget w;
        w.addSeries("CE");
        showAt(w, 400, 300);
        w.setEmptyMessage("No steps yet.");
        QVERIFY(w.isShowingEmptyMessage());
        w.setEmptyMessage({});
        QVERIFY(!w.isShowingEmptyMessage());
    }
};

QTEST_MAIN(TimeSeriesTest)
#include "time_series_test.moc"
