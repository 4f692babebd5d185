// ErrorNotice: how every panel shows a failure. One line (wrapping as needed) says what happened
// and what to do in plain words (explainError); "Details" opens the technical text (codes, URLs,
// the server's own message), selectable for a bug report. Long text wraps, never widens the window.
// Hidden until there is something to say.
#pragma once

#include <QFrame>

#include "user_error.h"

class QLabel;
class QPlainTextEdit;
class QToolButton;

namespace moe::ui {

class ErrorNotice : public QFrame {
    Q_OBJECT
public:
    explicit ErrorNotice(QWidget* parent = nullptr);

    // A failure: technical detail → plain words; activity names what was being done ("Search").
    void showError(const QString& detail, const QString& activity = {});
    // A plain-words notice that needs no explanation and has no detail ("No models match …").
    void showNotice(const QString& text);
    void clear();

    QString text() const;      // the plain-words line as shown ("" when hidden)
    QString detail() const;    // the technical text behind it
    QString fullText() const;  // both, for tests and copy: "line\ndetail"
    bool detailsOpen() const;
    void setDetailsOpen(bool open);
    // A close button (for notices that do not go away by themselves, e.g. the window's).
    void setDismissible(bool on);

private:
    void present(const QString& line, const QString& detail);

    QLabel* line_;
    QToolButton* details_button_;
    QToolButton* close_button_;
    QPlainTextEdit* details_;
    QString text_;
};

}  // namespace moe::ui
