#include "models/memory_estimate.h"

#include <QJsonValue>
#include <QStringList>

namespace moe::ui::models {

FitLevel classify_fit(qint64 needed_bytes, qint64 available_bytes) {
    if (available_bytes <= 0 || needed_bytes <= 0) return FitLevel::Unknown;
    if (needed_bytes > available_bytes) return FitLevel::DoesNotFit;
    // Compare in doubles: exact enough for byte counts, and no overflow on a multiplication.
    if (static_cast<double>(needed_bytes) <= kComfortableShare * static_cast<double>(available_bytes))
        return FitLevel::Fits;
    return FitLevel::Tight;
}

QColor fit_colour(FitLevel level) {
    switch (level) {
        case FitLevel::Fits: return QColor(0x2e, 0x7d, 0x32);        // green
        case FitLevel::Tight: return QColor(0xef, 0x8f, 0x00);       // amber
        case FitLevel::DoesNotFit: return QColor(0xc6, 0x28, 0x28);  // red
        case FitLevel::Unknown: break;
    }
    return QColor(0x75, 0x75, 0x75);
}

QString fit_word(FitLevel level) {
    switch (level) {
        case FitLevel::Fits: return QStringLiteral("fits");
        case FitLevel::Tight: return QStringLiteral("tight");
        case FitLevel::DoesNotFit: return QStringLiteral("does not fit");
        case FitLevel::Unknown: break;
    }
    return QStringLiteral("unknown");
}

std::optional<MemoryEstimate> MemoryEstimate::fromJson(const QJsonObject& estimate, QString* error) {
    const QJsonObject weights = estimate.value(QStringLiteral("weights_bytes")).toObject();
    QStringList missing;
    for (const char* key : {"stored", "bf16", "fp8"})
        if (!weights.value(QLatin1String(key)).isDouble()) missing << QStringLiteral("weights_bytes.%1").arg(QLatin1String(key));
    if (!estimate.value(QStringLiteral("kv_bytes_per_token")).isDouble()) missing << QStringLiteral("kv_bytes_per_token");
    if (!missing.isEmpty()) {
        if (error) *error = QStringLiteral("memory estimate lacks %1").arg(missing.join(QStringLiteral(", ")));
        return std::nullopt;
    }
    MemoryEstimate e;
    e.architecture = estimate.value(QStringLiteral("architecture")).toString();
    e.params = estimate.value(QStringLiteral("params")).toInteger();
    e.weights_stored = weights.value(QStringLiteral("stored")).toInteger();
    e.weights_bf16 = weights.value(QStringLiteral("bf16")).toInteger();
    e.weights_fp8 = weights.value(QStringLiteral("fp8")).toInteger();
    e.kv_bytes_per_token = estimate.value(QStringLiteral("kv_bytes_per_token")).toInteger();
    e.ctx = estimate.value(QStringLiteral("ctx")).toInt();
    e.ram_available = estimate.value(QStringLiteral("ram")).toObject().value(QStringLiteral("available_bytes")).toInteger();
    const QJsonValue gpu = estimate.value(QStringLiteral("gpu"));
    if (gpu.isObject()) {
        const QJsonObject g = gpu.toObject();
        e.has_gpu = true;
        e.gpu_name = g.value(QStringLiteral("name")).toString();
        e.gpu_free = g.value(QStringLiteral("free_bytes")).toInteger();
        e.gpu_total = g.value(QStringLiteral("total_bytes")).toInteger();
    }
    return e;
}

qint64 MemoryEstimate::weightBytes(WeightDtype dtype) const {
    switch (dtype) {
        case WeightDtype::BF16: return weights_bf16;
        case WeightDtype::FP8: return weights_fp8;
        case WeightDtype::Stored: break;
    }
    return weights_stored;
}

}  // namespace moe::ui::models
