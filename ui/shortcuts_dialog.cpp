#include "shortcuts_dialog.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMenu>
#include <QMenuBar>
#include <QTableWidget>
#include <QVBoxLayout>

namespace moe::ui {

namespace {

QString plain(QString text) { return text.remove(QLatin1Char('&')).remove(QStringLiteral("…")).trimmed(); }

void collect(const QMenu* menu, const QString& path, QList<Shortcut>& out) {
    for (QAction* action : menu->actions()) {
        if (action->menu()) {
            collect(action->menu(), path + plain(action->text()) + QStringLiteral(" › "), out);
            continue;
        }
        if (!action->shortcut().isEmpty()) out << Shortcut{path + plain(action->text()), action->shortcut()};
    }
}

}  // namespace

QList<Shortcut> collectShortcuts(const QMenuBar* menus, const QList<Shortcut>& extra) {
    QList<Shortcut> out;
    for (QAction* top : menus->actions())
        if (top->menu()) collect(top->menu(), plain(top->text()) + QStringLiteral(" › "), out);
    return out + extra;
}

ShortcutsDialog::ShortcutsDialog(const QList<Shortcut>& shortcuts, QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard shortcuts"));
    auto* table = new QTableWidget(int(shortcuts.size()), 2, this);
    table->setObjectName(QStringLiteral("shortcutsTable"));
    table->setHorizontalHeaderLabels({tr("Keys"), tr("What it does")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    for (int i = 0; i < shortcuts.size(); ++i) {
        table->setItem(i, 0, new QTableWidgetItem(shortcuts[i].keys.toString(QKeySequence::NativeText)));
        table->setItem(i, 1, new QTableWidgetItem(shortcuts[i].what));
    }
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(table);
    layout->addWidget(buttons);
    resize(520, 420);
}

}  // namespace moe::ui
