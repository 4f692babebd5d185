// The "CSV…" and "PNG…" buttons of a view (routing, fine-tune). Each view registers what it can
// export (one target, or several: then the buttons open a menu); a click asks for a file name and
// reports a failure in a message box that names the file. Tests call the targets' functions directly.
#pragma once

#include <QString>
#include <QToolBar>

#include <functional>

namespace moe::ui {

// Writes the view to path; false + *error (naming the file) on failure.
using ExportFunction = std::function<bool(const QString& path, QString* error)>;

class ExportBar : public QToolBar {
    Q_OBJECT
public:
    explicit ExportBar(QWidget* parent = nullptr);

    // name: what is exported ("this layer", "all domains"); file_stem: the suggested file name.
    void addCsvTarget(const QString& name, const QString& file_stem, ExportFunction write);
    void addPngTarget(const QString& name, const QString& file_stem, ExportFunction write);

private:
    struct Target {
        QString name;
        QString file_stem;
        ExportFunction write;
    };
    void rebuild();
    void exportWithDialog(const Target& target, const QString& suffix, const QString& filter);

    QList<Target> csv_;
    QList<Target> png_;
};

}  // namespace moe::ui
