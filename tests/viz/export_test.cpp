// CSV and PNG export of the viz widgets: what is written reads back as what was shown.
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include "bar_chart_widget.h"
#include "csv_test_reader.h"
#include "csv_writer.h"
#include "heatmap_widget.h"

using namespace moe::viz;

class ExportTest : public QObject {
    Q_OBJECT
private slots:
    void csvQuotesWhatNeedsQuoting() {
        QCOMPARE(csvField(QStringLiteral("plain")), QStringLiteral("plain"));
        QCOMPARE(csvField(QStringLiteral("a,b")), QStringLiteral("\"a,b\""));
        QCOMPARE(csvField(QStringLiteral("say \"hi\"")), QStringLiteral("\"say \"\"hi\"\"\""));
    }

    void csvRoundTripOfAwkwardFields() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("t.csv"));
        CsvTable table;
        table.header = {QStringLiteral("name"), QStringLiteral("text")};
        table.rows << QStringList{QStringLiteral("comma"), QStringLiteral("a, b")}
                   << QStringList{QStringLiteral("quote"), QStringLiteral("\"x\"")}
                   << QStringList{QStringLiteral("newline"), QStringLiteral("one\ntwo")}
                   << QStringList{QStringLiteral("unicode"), QStringLiteral("专家 λ")};
        QString error;
        QVERIFY2(writeCsv(path, table, &error), qPrintable(error));
        const QVector<QStringList> back = test::readCsv(path, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(back.size(), 5);
        QCOMPARE(back[0], table.header);
        for (int i = 0; i < table.rows.size(); ++i) QCOMPARE(back[i + 1], table.rows[i]);
    }

    void csvWriteFailureNamesTheFile() {
        CsvTable table{{QStringLiteral("a")}, {}};
        QString error;
        QVERIFY(!writeCsv(QStringLiteral("/nonexistent-dir/x.csv"), table, &error));
        QVERIFY2(error.contains(QStringLiteral("/nonexistent-dir/x.csv")), qPrintable(error));
        table.rows << QStringList{QStringLiteral("1"), QStringLiteral("2")};
        QTemporaryDir dir;
        QVERIFY(!writeCsv(dir.filePath(QStringLiteral("y.csv")), table, &error));
        QVERIFY2(error.contains(QStringLiteral("2 fields")), qPrintable(error));
    }

    void heatmapCsvRoundTrip() {
        HeatmapData data = HeatmapData::filled(2, 3);
        data.values = {1, 2.5, 0, 7, std::nan(""), 3};
        data.row_labels = {QStringLiteral("1"), QStringLiteral("2")};
        data.row_title = QStringLiteral("layer");
        data.col_title = QStringLiteral("expert");
        HeatmapWidget widget;
        widget.setData(data);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("h.csv"));
        QString error;
        QVERIFY2(widget.saveCsv(path, &error), qPrintable(error));
        const QVector<QStringList> back = test::readCsv(path, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(back.size(), 3);
        QCOMPARE(back[0], (QStringList{"layer", "expert 0", "expert 1", "expert 2"}));
        QCOMPARE(back[1][0], QStringLiteral("1"));
        for (int r = 0; r < 2; ++r) {
            for (int c = 0; c < 3; ++c) {
                const QString cell = back[r + 1][c + 1];
                if (std::isnan(data.at(r, c))) {
                    QVERIFY(cell.isEmpty());
                } else {
                    QCOMPARE(cell.toDouble(), data.at(r, c));
                }
            }
        }
        // Row-normalised views export the shares they show.
        widget.setRowNormalised(true);
        QVERIFY(widget.saveCsv(path, &error));
        const QVector<QStringList> shares = test::readCsv(path, &error);
        QCOMPARE(shares[1][2].toDouble(), 2.5 / 3.5);
    }

    void barChartCsvRoundTrip() {
        BarChartWidget chart;
        chart.setValues({0.125, -3.5}, QStringLiteral("expert"), QStringLiteral("bias"));
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("b.csv"));
        QString error;
        QVERIFY2(chart.saveCsv(path, &error), qPrintable(error));
        const QVector<QStringList> back = test::readCsv(path, &error);
        QCOMPARE(back, (QVector<QStringList>{{"expert", "bias"}, {"0", "0.125"}, {"1", "-3.5"}}));
    }

    void pngIsWrittenAndHasThePlot() {
        HeatmapData data = HeatmapData::filled(4, 16);
        for (int i = 0; i < data.values.size(); ++i) data.values[i] = i;
        HeatmapWidget widget;
        widget.setData(data);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("h.png"));
        QString error;
        QVERIFY2(widget.savePng(path, 640, 400, &error), qPrintable(error));
        QVERIFY(QFileInfo(path).size() > 1000);
        QImage image(path);
        QCOMPARE(image.size(), QSize(640, 400));
        // The cells are drawn: the image holds more than the background and the axes' colours.
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 4)
            for (int x = 0; x < image.width(); x += 4) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QStringLiteral("only %1 colours").arg(colours.size())));

        BarChartWidget chart;
        chart.setValues({1, 2, 3}, QStringLiteral("expert"), QStringLiteral("bias"));
        const QString bars = dir.filePath(QStringLiteral("b.png"));
        QVERIFY2(chart.savePng(bars, 0, 0, &error), qPrintable(error));
        QCOMPARE(QImage(bars).size(), QSize(800, 500));  // hidden widget: the readable minimum
    }

    void pngFailureNamesTheFile() {
        HeatmapWidget widget;
        QString error;
        QVERIFY(!widget.savePng(QStringLiteral("/nonexistent-dir/h.png"), 100, 100, &error));
        QVERIFY2(error.contains(QStringLiteral("/nonexistent-dir/h.png")), qPrintable(error));
    }
};

QTEST_MAIN(ExportTest)
#include "export_test.moc"
