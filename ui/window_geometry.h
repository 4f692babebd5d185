// Where the main window goes on a screen: a first launch fills a laptop screen and leaves a margin
// on a large one; a saved geometry (perhaps from a larger screen, or grown past the screen by a bug
// that is now fixed) is moved and shrunk to lie inside the screen's available area.
#pragma once

#include <QRect>
#include <QSize>

namespace moe::ui {

// Screens at most this size are filled by the first window; larger ones get kLargeScreenShare of it.
inline constexpr QSize kFillScreenUpTo{1600, 1000};
inline constexpr double kLargeScreenShare = 0.9;

// The first-launch frame geometry on a screen with this available area.
QRect defaultWindowGeometry(const QRect& available);
// frame moved (and, if larger, shrunk) so it lies inside available.
QRect clampedToScreen(const QRect& frame, const QRect& available);

}  // namespace moe::ui
