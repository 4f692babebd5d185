#include "format.h"

#include <array>
#include <cmath>

namespace moe::ui {

QString format_bytes(qint64 bytes) {
    static constexpr std::array<const char*, 6> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (std::abs(value) >= 1024.0 && unit + 1 < kUnits.size()) {
        value /= 1024.0;
        ++unit;
    }
    if (unit == 0) return QStringLiteral("%1 B").arg(bytes);
    return QStringLiteral("%1 %2").arg(value, 0, 'f', value < 10 ? 2 : 1).arg(QLatin1String(kUnits[unit]));
}

QString format_speed(double bytes_per_second) {
    if (bytes_per_second <= 0) return QStringLiteral("–");
    return format_bytes(static_cast<qint64>(bytes_per_second)) + QStringLiteral("/s");
}

QString format_duration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return {};
    const qint64 s = static_cast<qint64>(std::llround(seconds));
    if (s < 60) return QStringLiteral("%1 s").arg(s);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString format_count(qint64 n) {
    const double v = static_cast<double>(n);
    if (v >= 1e12) return QStringLiteral("%1T").arg(v / 1e12, 0, 'f', 2);
    if (v >= 1e9) return QStringLiteral("%1B").arg(v / 1e9, 0, 'f', v >= 1e11 ? 0 : 1);
    if (v >= 1e6) return QStringLiteral("%1M").arg(v / 1e6, 0, 'f', 1);
    if (v >= 1e3) return QStringLiteral("%1K").arg(v / 1e3, 0, 'f', 1);
    return QString::number(n);
}

}  // namespace moe::ui
