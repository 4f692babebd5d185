// Help › Keyboard shortcuts: every shortcut of the window in one list — those of the menus (read
// from the menu bar, so the list cannot drift from the menus) and the ones that live in a panel
// (Ctrl+Enter sends, Esc stops a reply).
#pragma once

#include <QDialog>
#include <QKeySequence>
#include <QList>
#include <QString>

class QMenuBar;

namespace moe::ui {

struct Shortcut {
    QString what;  // "New chat", "Send the message"
    QKeySequence keys;
};

// The menu bar's actions with a shortcut, in menu order (menu › action), then `extra`.
QList<Shortcut> collectShortcuts(const QMenuBar* menus, const QList<Shortcut>& extra);

class ShortcutsDialog : public QDialog {
    Q_OBJECT
public:
    ShortcutsDialog(const QList<Shortcut>& shortcuts, QWidget* parent = nullptr);
};

}  // namespace moe::ui
