#include "csv_writer.h"

#include <QSaveFile>

namespace moe::viz {

QString csvField(const QString& field) {
    const bool needs_quotes = field.contains(QLatin1Char(',')) || field.contains(QLatin1Char('"')) ||
                              field.contains(QLatin1Char('\n')) || field.contains(QLatin1Char('\r'));
    if (!needs_quotes) return field;
    QString quoted = field;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

static QByteArray csvLine(const QStringList& fields) {
    QStringList quoted;
    quoted.reserve(fields.size());
    for (const QString& field : fields) quoted << csvField(field);
    return quoted.join(QLatin1Char(',')).toUtf8() + '\n';
}

bool writeCsv(const QString& path, const CsvTable& table, QString* error) {
    auto fail = [&](const QString& why) {
        if (error) *error = QStringLiteral("cannot write CSV file %1: %2").arg(path, why);
        return false;
    };
    for (const QStringList& row : table.rows) {
        if (row.size() != table.header.size())
            return fail(QStringLiteral("a row has %1 fields but the header has %2")
                            .arg(row.size())
                            .arg(table.header.size()));
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(file.errorString());
    file.write(csvLine(table.header));
    for (const QStringList& row : table.rows) file.write(csvLine(row));
    if (!file.commit()) return fail(file.errorString());
    return true;
}

}  // namespace moe::viz
