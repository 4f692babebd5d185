#include "csv_test_reader.h"

#include <QFile>

namespace moe::viz::test {

QVector<QStringList> readCsv(const QString& path, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot open %1: %2").arg(path, file.errorString());
        return {};
    }
    const QString text = QString::fromUtf8(file.readAll());
    QVector<QStringList> records;
    QStringList record;
    QString field;
    bool quoted = false;
    for (int i = 0; i < text.size(); ++i) {
        const QChar ch = text[i];
        if (quoted) {
            if (ch == u'"' && i + 1 < text.size() && text[i + 1] == u'"') {
                field += u'"';
                ++i;
            } else if (ch == u'"') {
                quoted = false;
            } else {
                field += ch;
            }
        } else if (ch == u'"') {
            quoted = true;
        } else if (ch == u',') {
            record << field;
            field.clear();
        } else if (ch == u'\n') {
            record << field;
            records << record;
            record.clear();
            field.clear();
        } else {
            field += ch;
        }
    }
    if (quoted) *error = QStringLiteral("%1: unterminated quoted field").arg(path);
    if (!field.isEmpty() || !record.isEmpty()) *error = QStringLiteral("%1: last line has no newline").arg(path);
    return records;
}

}  // namespace moe::viz::test
