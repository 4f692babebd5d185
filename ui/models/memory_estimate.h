// The memory a model needs (weights in a chosen dtype + KV cache for a chosen context) against what
// this machine has (GPU free memory, available RAM), from the `estimate` object of
// `moe-engine hub files … --json`. The KV cache grows linearly with the context (bytes per token ×
// tokens), so a new context is recomputed here from the engine's per-token figure, without a new
// round trip to the hub.
#pragma once

#include <QColor>
#include <QJsonObject>
#include <QString>

#include <optional>

namespace moe::ui::models {

enum class WeightDtype { Stored, BF16, FP8 };

// Fits: needed ≤ kComfortableShare of what is free; Tight: fits, but with less than that headroom
// (activations, the CUDA context and fragmentation need some); DoesNotFit; Unknown: nothing to compare.
enum class FitLevel { Fits, Tight, DoesNotFit, Unknown };
inline constexpr double kComfortableShare = 0.85;

FitLevel classify_fit(qint64 needed_bytes, qint64 available_bytes);
QColor fit_colour(FitLevel level);  // green / amber / red / grey
QString fit_word(FitLevel level);   // "fits" / "tight" / "does not fit" / "unknown"

struct MemoryEstimate {
    QString architecture;
    qint64 params = 0;
    qint64 weights_stored = 0, weights_bf16 = 0, weights_fp8 = 0;
    qint64 kv_bytes_per_token = 0;
    int ctx = 0;  // the context the engine computed for
    qint64 ram_available = 0;
    bool has_gpu = false;
    QString gpu_name;
    qint64 gpu_free = 0, gpu_total = 0;

    // nullopt when the object lacks the fields (the message says which).
    static std::optional<MemoryEstimate> fromJson(const QJsonObject& estimate, QString* error = nullptr);

    qint64 weightBytes(WeightDtype dtype) const;
    qint64 kvBytes(int context_tokens) const { return kv_bytes_per_token * context_tokens; }
    qint64 totalBytes(WeightDtype dtype, int context_tokens) const {
        return weightBytes(dtype) + kvBytes(context_tokens);
    }
};

}  // namespace moe::ui::models
