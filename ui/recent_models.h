// The checkpoint folders the user has run, most recent first (QSettings "models/recent"), for
// File › Recent models and for starting where the user left off: a launch without --model reopens
// the most recent folder that still holds a checkpoint (config.json), not the demo model.
#pragma once

#include <QString>
#include <QStringList>

namespace moe::ui {

class RecentModels {
public:
    static constexpr int kMaxEntries = 8;

    static QStringList list();                  // most recent first
    static void add(const QString& checkpoint_dir);  // moves it to the front
    static void remove(const QString& checkpoint_dir);
    static void clear();
    // The most recent folder that still holds a checkpoint, "" if none (then: the demo model).
    static QString lastUsable();
    static bool looksLikeCheckpoint(const QString& dir);  // has config.json
};

}  // namespace moe::ui
