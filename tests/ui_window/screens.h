// Screens for GUI tests: the offscreen platform reads its screens from a JSON file
// (QT_QPA_PLATFORM=offscreen:configfile=…). These helpers write one with the screens people have —
// a 1366×768 laptop, a 1440×900 laptop and a 1920×1080 desktop, side by side — before the
// QApplication exists, and find them again by size.
#pragma once

#include <QRect>
#include <QSize>
#include <QString>

class QScreen;

namespace moe::ui::test {

inline constexpr QSize kLaptopSmall{1366, 768};
inline constexpr QSize kLaptop{1440, 900};
inline constexpr QSize kDesktop{1920, 1080};

// Writes the config into dir and points QT_QPA_PLATFORM at it. Call first thing in main().
void configureOffscreenScreens(const QString& dir);
// The screen of that size (QVERIFY-friendly: nullptr when absent).
QScreen* screenOfSize(const QSize& size);

}  // namespace moe::ui::test
