// The engine log dock: the managed engine's stderr lines (and the workbench's notes about it),
// bounded so a chatty engine cannot grow memory without limit.
#pragma once

#include <QPlainTextEdit>

namespace moe::ui {

class EngineLogView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit EngineLogView(QWidget* parent = nullptr);
    void appendLine(const QString& line);
    static constexpr int kMaxLines = 5'000;
};

}  // namespace moe::ui
