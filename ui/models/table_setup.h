// The parts every hub view of the Models panel is built from, made one way: the read-only table,
// the busy indicator, the inline error line, and the one `moe-engine … --json` child a view runs at
// a time (JsonQuery).
#pragma once

#include <QJsonObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <functional>

class QObject;
class QProgressBar;
class QTableWidget;
class QWidget;

namespace moe::ui {
class ErrorNotice;
}

namespace moe::ui::models {

class EngineCommand;
struct EngineRunner;

// Not editable, no row numbers, `stretch_column` takes the spare width. No selection: views that
// select rows (the search results) switch it on themselves.
QTableWidget* make_read_only_table(const QStringList& headers, int stretch_column, QWidget* parent);
// Indeterminate (the engine reports no progress for hub queries), hidden until a child runs.
QProgressBar* make_busy_indicator(QWidget* parent);
// The panel's error line: plain words, the technical detail one click away, hidden until an error.
ErrorNotice* make_error_notice(QWidget* parent);

// A view's one running `moe-engine … --json` child. Starting a new one replaces (and so stops) the
// running one; nothing the replaced child still sends (answer, error, finished) is delivered.
class JsonQuery {
public:
    using AnswerHandler = std::function<void(const QJsonObject& answer)>;
    using FinishedHandler = std::function<void(int exit_code, bool crashed, const QString& stderr_tail)>;

    JsonQuery() = default;
    JsonQuery(const JsonQuery&) = delete;  // the child's signal handlers point at this object
    JsonQuery& operator=(const JsonQuery&) = delete;

    // on_answer gets every JSON object the child prints that is not an error report; on_finished
    // runs once when the child ends. Both run on `owner`'s thread and never after owner is gone.
    void start(const EngineRunner& runner, const QStringList& arguments, QObject* owner, AnswerHandler on_answer,
               FinishedHandler on_finished);
    bool isRunning() const;
    // The latest child printed its answer (a JSON object that is not an error report).
    bool answered() const { return answered_; }
    // The child ended well and printed an answer: exit code 0, no crash, no error it reported.
    bool succeeded(int exit_code, bool crashed) const;
    // Why it failed, most specific first: the error the child reported, its stderr, else `fallback`.
    QString failureReason(const QString& stderr_tail, const QString& fallback) const;

private:
    QPointer<EngineCommand> process_;
    bool answered_ = false;
    QString reported_error_;
};

}  // namespace moe::ui::models
