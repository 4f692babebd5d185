#include "export_bar.h"

#include <QDir>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QToolButton>

namespace moe::ui {

ExportBar::ExportBar(QWidget* parent) : QToolBar(parent) {
    setIconSize(QSize(16, 16));
    setToolButtonStyle(Qt::ToolButtonTextOnly);
}

void ExportBar::addCsvTarget(const QString& name, const QString& file_stem, ExportFunction write) {
    csv_ << Target{name, file_stem, std::move(write)};
    rebuild();
}

void ExportBar::addPngTarget(const QString& name, const QString& file_stem, ExportFunction write) {
    png_ << Target{name, file_stem, std::move(write)};
    rebuild();
}

void ExportBar::rebuild() {
    clear();
    const auto addButton = [this](const QString& label, const QList<Target>& targets, const QString& suffix,
                                  const QString& filter) {
        if (targets.isEmpty()) return;
        auto* button = new QToolButton(this);
        button->setText(label);
        button->setObjectName(QStringLiteral("export.") + suffix);
        if (targets.size() == 1) {
            button->setToolTip(tr("Export %1 as %2").arg(targets[0].name, suffix.toUpper()));
            const Target target = targets[0];
            connect(button, &QToolButton::clicked, this,
                    [this, target, suffix, filter] { exportWithDialog(target, suffix, filter); });
        } else {
            auto* menu = new QMenu(button);
            for (const Target& target : targets)
                menu->addAction(target.name, this, [this, target, suffix, filter] { exportWithDialog(target, suffix, filter); });
            button->setMenu(menu);
            button->setPopupMode(QToolButton::InstantPopup);
        }
        addWidget(button);
    };
    addButton(tr("CSV…"), csv_, QStringLiteral("csv"), tr("CSV files (*.csv)"));
    addButton(tr("PNG…"), png_, QStringLiteral("png"), tr("PNG images (*.png)"));
}

void ExportBar::exportWithDialog(const Target& target, const QString& suffix, const QString& filter) {
    const QString suggested = QDir::home().filePath(target.file_stem + QLatin1Char('.') + suffix);
    QString path = QFileDialog::getSaveFileName(this, tr("Export %1").arg(target.name), suggested, filter);
    if (path.isEmpty()) return;
    if (!path.endsWith(QLatin1Char('.') + suffix, Qt::CaseInsensitive)) path += QLatin1Char('.') + suffix;
    QString error;
    if (!target.write(path, &error)) QMessageBox::warning(this, tr("Export failed"), error);
}

}  // namespace moe::ui
