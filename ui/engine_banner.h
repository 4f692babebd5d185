// The strip at the top of the window that says what happened to the engine: crashed and restarting,
// gave up (with a Restart button), or back after a restart. Hidden while all is well.
#pragma once

#include <QTimer>
#include <QWidget>

class QLabel;
class QPushButton;

namespace moe::ui {

class EngineBanner : public QWidget {
    Q_OBJECT
public:
    explicit EngineBanner(QWidget* parent = nullptr);

    void showCrash(const QString& reason);
    void showRestarting(int attempt);
    void showGaveUp(const QString& reason);
    void showRecovered();  // shown a few seconds, then hides itself
    void showProblem(const QString& text);
    QString text() const;

signals:
    void restartRequested();

private:
    void present(const QString& text, const QString& style, bool offer_restart);

    QLabel* label_;
    QPushButton* restart_;
    QTimer hide_timer_;
    QString crash_reason_;
};

}  // namespace moe::ui
