// Human-readable numbers for every panel (models, fine-tune): sizes in binary units (what memory is
// sold in and what nvidia-smi shows), speeds, durations, parameter counts.
#pragma once

#include <QString>

namespace moe::ui {

QString format_bytes(qint64 bytes);            // "512 B", "1.5 KiB", "12.3 GiB"
QString format_speed(double bytes_per_second);  // "12.3 MiB/s"
QString format_duration(double seconds);        // "45 s", "3 min 05 s", "2 h 10 min"; "" when < 0
QString format_count(qint64 n);                 // 671000000000 -> "671B", 15700000 -> "15.7M"

}  // namespace moe::ui
