// JsonLineBuffer: moe-engine's stdout arrives in arbitrary chunks; every complete line must come out
// as exactly one object or one error, in order, whatever the chunking.
#include <QtTest>

#include "models/json_lines.h"

using moe::ui::models::JsonLine;
using moe::ui::models::JsonLineBuffer;

class JsonLinesTest : public QObject {
    Q_OBJECT
private slots:
    void wholeLinesInOneChunk() {
        JsonLineBuffer buffer;
        const QList<JsonLine> lines = buffer.feed("{\"event\":\"a\"}\n{\"event\":\"b\",\"n\":2}\n");
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0].object.value("event").toString(), QString("a"));
        QCOMPARE(lines[1].object.value("n").toInt(), 2);
        QCOMPARE(buffer.pendingBytes(), 0);
    }

    void everySplitPointGivesTheSameObjects() {
        const QByteArray stream = "{\"event\":\"progress\",\"overall_bytes\":123456789012}\r\n\n{\"text\":\"héllo \\n\"}\n";
        for (qsizetype split = 0; split <= stream.size(); ++split) {
            JsonLineBuffer buffer;
            QList<JsonLine> lines = buffer.feed(stream.left(split));
            lines += buffer.feed(stream.mid(split));
            lines += buffer.finish();
            QCOMPARE(lines.size(), 2);
            QVERIFY2(lines[0].error.isEmpty(), qPrintable(lines[0].error));
            QCOMPARE(lines[0].object.value("overall_bytes").toInteger(), Q_INT64_C(123456789012));
            QCOMPARE(lines[1].object.value("text").toString(), QString::fromUtf8("héllo \n"));
        }
    }

    void byteByByte() {
        const QByteArray stream = "{\"a\":1}\n{\"b\":2}\n";
        JsonLineBuffer buffer;
        QList<JsonLine> lines;
        for (char c : stream) lines += buffer.feed(QByteArray(1, c));
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[1].object.value("b").toInt(), 2);
    }

    void partialLineWaitsForItsEnd() {
        JsonLineBuffer buffer;
        QVERIFY(buffer.feed("{\"event\":\"do").isEmpty());
        QCOMPARE(buffer.pendingBytes(), 12);
        const QList<JsonLine> lines = buffer.feed("ne\"}\n");
        QCOMPARE(lines.size(), 1);
        QCOMPARE(lines[0].object.value("event").toString(), QString("done"));
    }

    void badLineIsReportedAndParsingGoesOn() {
        JsonLineBuffer buffer;
        const QList<JsonLine> lines = buffer.feed("{\"ok\":1}\nthis is not json\n[1,2]\n{\"ok\":2}\n");
        QCOMPARE(lines.size(), 4);
        QVERIFY(lines[0].error.isEmpty());
        QVERIFY(lines[1].error.startsWith("not JSON"));
        QVERIFY2(lines[1].error.contains("this is not json"), qPrintable(lines[1].error));  // names the text
        QVERIFY(lines[2].error.contains("not an object"));
        QVERIFY(lines[3].error.isEmpty());
        QCOMPARE(lines[3].object.value("ok").toInt(), 2);
    }

    void unterminatedLastLineIsParsedAtTheEnd() {
        JsonLineBuffer buffer;
        QVERIFY(buffer.feed("{\"event\":\"done\"}").isEmpty());
        const QList<JsonLine> lines = buffer.finish();
        QCOMPARE(lines.size(), 1);
        QCOMPARE(lines[0].object.value("event").toString(), QString("done"));
        QVERIFY(buffer.finish().isEmpty());
    }

    void truncatedLastLineIsAnError() {
        JsonLineBuffer buffer;
        buffer.feed("{\"event\":\"prog");
        const QList<JsonLine> lines = buffer.finish();
        QCOMPARE(lines.size(), 1);
        QVERIFY(!lines[0].error.isEmpty());
    }

    void overLongLineIsSkippedNotBuffered() {
        JsonLineBuffer buffer;
        const QByteArray chunk(1024 * 1024, 'x');
        QList<JsonLine> lines;
        for (int i = 0; i < 9; ++i) lines += buffer.feed(chunk);  // 9 MiB without a newline
        QCOMPARE(lines.size(), 1);
        QVERIFY(lines[0].error.contains("longer than"));
        QVERIFY(buffer.pendingBytes() <= JsonLineBuffer::kMaxLineBytes);
        lines = buffer.feed(chunk + "\n{\"after\":true}\n");
        QCOMPARE(lines.size(), 1);  // the rest of the long line is dropped, the next line is intact
        QVERIFY(lines[0].object.value("after").toBool());
    }
};

int run_json_lines_tests(int argc, char** argv) {
    JsonLinesTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "json_lines_test.moc"
