// Plain data behind a heatmap: a rows × cols grid of numbers with the labels that name them.
// viz knows nothing about engines or routing; the panels in ui/ fill this.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace moe::viz {

struct HeatmapData {
    int rows = 0;
    int cols = 0;
    QVector<double> values;  // [rows, cols] row-major; NaN = "no data" (drawn grey), e.g. a dense layer
    QStringList row_labels;  // one per row, shown on the y axis, row 0 at the top; empty = row index
    QString row_title;       // y axis title, e.g. "layer"
    QString col_title;       // x axis title, e.g. "expert" (columns numbered from col_origin, 0 by default)
    QString value_title;     // colour scale title, e.g. "tokens routed"
    int col_origin = 0;      // column c is numbered c + col_origin (training steps from 1)

    double at(int row, int col) const { return values[row * cols + col]; }
    double& at(int row, int col) { return values[row * cols + col]; }
    bool isConsistent() const {
        return rows >= 0 && cols >= 0 && values.size() == rows * cols &&
               (row_labels.isEmpty() || row_labels.size() == rows);
    }
    QString rowLabel(int row) const {
        return row < row_labels.size() ? row_labels[row] : QString::number(row);
    }
    // A grid of the given size filled with value (0 by default).
    static HeatmapData filled(int rows, int cols, double value = 0.0) {
        HeatmapData data;
        data.rows = rows;
        data.cols = cols;
        data.values = QVector<double>(rows * cols, value);
        return data;
    }
};

}  // namespace moe::viz
