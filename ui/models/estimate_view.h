// EstimateView: weights + KV cache for the chosen context and weight dtype, against this GPU's free
// memory and this machine's available RAM, coloured green / amber / red (classify_fit). Changing
// the context or dtype recomputes at once from the engine's per-token KV figure.
#pragma once

#include <QGroupBox>

#include <optional>

#include "models/memory_estimate.h"

class QComboBox;
class QLabel;

namespace moe::ui::models {

class EstimateView : public QGroupBox {
    Q_OBJECT
public:
    explicit EstimateView(QWidget* parent = nullptr);

    void setEstimate(const std::optional<MemoryEstimate>& estimate, const QString& why_missing = {});
    void setContext(int tokens);  // selects (or adds) that context length
    int context() const;
    void setDtype(WeightDtype dtype);
    WeightDtype dtype() const;

    FitLevel gpuFit() const { return gpu_fit_; }
    FitLevel ramFit() const { return ram_fit_; }
    qint64 totalBytes() const;
    QString gpuText() const;
    QString ramText() const;

signals:
    void contextChanged(int tokens);

private:
    void refresh();
    static void paint(QLabel* label, FitLevel level, const QString& text);

    std::optional<MemoryEstimate> estimate_;
    QComboBox* context_;
    QComboBox* dtype_;
    QLabel* weights_;
    QLabel* kv_;
    QLabel* total_;
    QLabel* gpu_;
    QLabel* ram_;
    FitLevel gpu_fit_ = FitLevel::Unknown;
    FitLevel ram_fit_ = FitLevel::Unknown;
};

}  // namespace moe::ui::models
