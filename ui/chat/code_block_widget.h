// A fenced code block of a reply: monospace, read-only, its language in the header and a Copy
// button that puts the code (without fences) on the clipboard.
#pragma once

#include <QFrame>

class QLabel;
class QPlainTextEdit;

namespace moe::ui {

class CodeBlockWidget : public QFrame {
    Q_OBJECT
public:
    explicit CodeBlockWidget(QWidget* parent = nullptr);
    void setCode(const QString& code, const QString& language);
    QString code() const;

private:
    void fitHeight();

    QLabel* language_;
    QPlainTextEdit* editor_;
};

}  // namespace moe::ui
