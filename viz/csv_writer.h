// A plain CSV writer (RFC 4180 quoting) for the "export to CSV" buttons of every plot and panel.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace moe::viz {

struct CsvTable {
    QStringList header;          // the first line
    QVector<QStringList> rows;   // each as long as header
};

// Quotes a field when it holds a comma, quote, CR or LF (quotes doubled), else returns it as is.
QString csvField(const QString& field);

// Writes the table atomically (QSaveFile), UTF-8, "\n" line ends. On failure returns false and sets
// *error (if given) to a message that names the file and the reason.
bool writeCsv(const QString& path, const CsvTable& table, QString* error = nullptr);

}  // namespace moe::viz
