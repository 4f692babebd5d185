// A strict RFC 4180 reader for the CSV round-trip tests (the app itself only writes CSV).
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace moe::viz::test {

// All records of the file (header first); an unterminated quote or unreadable file fails the test
// through the returned error string (empty on success).
QVector<QStringList> readCsv(const QString& path, QString* error);

}  // namespace moe::viz::test
