#include "models/estimate_view.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>

#include "format.h"

namespace moe::ui::models {

EstimateView::EstimateView(QWidget* parent) : QGroupBox(QStringLiteral("Memory estimate"), parent) {
    context_ = new QComboBox(this);
    for (int tokens : {4096, 32768, 131072}) context_->addItem(QStringLiteral("%1k tokens").arg(tokens / 1024), tokens);
    dtype_ = new QComboBox(this);
    dtype_->addItem(QStringLiteral("as stored"), static_cast<int>(WeightDtype::Stored));
    dtype_->addItem(QStringLiteral("bf16"), static_cast<int>(WeightDtype::BF16));
    dtype_->addItem(QStringLiteral("fp8"), static_cast<int>(WeightDtype::FP8));
    weights_ = new QLabel(this);
    kv_ = new QLabel(this);
    total_ = new QLabel(this);
    gpu_ = new QLabel(this);
    ram_ = new QLabel(this);
    for (QLabel* label : {gpu_, ram_}) label->setWordWrap(true);

    auto* choice = new QHBoxLayout;
    choice->addWidget(new QLabel(QStringLiteral("Context"), this));
    choice->addWidget(context_);
    choice->addWidget(new QLabel(QStringLiteral("Weights"), this));
    choice->addWidget(dtype_);
    choice->addStretch(1);
    auto* form = new QFormLayout(this);
    form->addRow(choice);
    form->addRow(QStringLiteral("Weights"), weights_);
    form->addRow(QStringLiteral("KV cache"), kv_);
    form->addRow(QStringLiteral("Total"), total_);
    form->addRow(QStringLiteral("This GPU"), gpu_);
    form->addRow(QStringLiteral("This RAM"), ram_);

    connect(context_, &QComboBox::currentIndexChanged, this, [this] {
        refresh();
        emit contextChanged(context());
    });
    connect(dtype_, &QComboBox::currentIndexChanged, this, &EstimateView::refresh);
    refresh();
}

void EstimateView::setEstimate(const std::optional<MemoryEstimate>& estimate, const QString& why_missing) {
    estimate_ = estimate;
    refresh();
    if (!estimate_ && !why_missing.isEmpty()) weights_->setText(why_missing);
}

void EstimateView::setContext(int tokens) {
    int index = context_->findData(tokens);
    if (index < 0) {
        context_->addItem(QStringLiteral("%1 tokens").arg(tokens), tokens);
        index = context_->count() - 1;
    }
    context_->setCurrentIndex(index);
}

int EstimateView::context() const { return context_->currentData().toInt(); }

void EstimateView::setDtype(WeightDtype dtype) { dtype_->setCurrentIndex(dtype_->findData(static_cast<int>(dtype))); }

WeightDtype EstimateView::dtype() const { return static_cast<WeightDtype>(dtype_->currentData().toInt()); }

qint64 EstimateView::totalBytes() const { return estimate_ ? estimate_->totalBytes(dtype(), context()) : 0; }
QString EstimateView::gpuText() const { return gpu_->text(); }
QString EstimateView::ramText() const { return ram_->text(); }

void EstimateView::refresh() {
    if (!estimate_) {
        gpu_fit_ = ram_fit_ = FitLevel::Unknown;
        for (QLabel* label : {weights_, kv_, total_, gpu_, ram_}) label->setText(QStringLiteral("–"));
        paint(gpu_, FitLevel::Unknown, QStringLiteral("–"));
        paint(ram_, FitLevel::Unknown, QStringLiteral("–"));
        return;
    }
    const MemoryEstimate& e = *estimate_;
    const qint64 total = e.totalBytes(dtype(), context());
    weights_->setText(QStringLiteral("%1 (%2 parameters)").arg(format_bytes(e.weightBytes(dtype())), format_count(e.params)));
    kv_->setText(QStringLiteral("%1 (%2 per token × %3 tokens)")
                     .arg(format_bytes(e.kvBytes(context())), format_bytes(e.kv_bytes_per_token)).arg(context()));
    total_->setText(format_bytes(total));

    if (e.has_gpu) {
        gpu_fit_ = classify_fit(total, e.gpu_free);
        paint(gpu_, gpu_fit_, QStringLiteral("%1 — %2: %3 free of %4")
                                  .arg(fit_word(gpu_fit_), e.gpu_name, format_bytes(e.gpu_free), format_bytes(e.gpu_total)));
    } else {
        gpu_fit_ = FitLevel::Unknown;
        paint(gpu_, gpu_fit_, QStringLiteral("no GPU found by the engine"));
    }
    ram_fit_ = classify_fit(total, e.ram_available);
    paint(ram_, ram_fit_, QStringLiteral("%1 — %2 available").arg(fit_word(ram_fit_), format_bytes(e.ram_available)));
}

void EstimateView::paint(QLabel* label, FitLevel level, const QString& text) {
    label->setText(text);
    label->setStyleSheet(QStringLiteral("color: %1; font-weight: bold;").arg(fit_colour(level).name()));
}

}  // namespace moe::ui::models
