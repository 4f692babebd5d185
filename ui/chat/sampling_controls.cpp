#include "sampling_controls.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

namespace moe::ui {

namespace {

QDoubleSpinBox* doubleBox(double lo, double hi, double step, double value, QWidget* parent) {
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(lo, hi);
    box->setSingleStep(step);
    box->setDecimals(2);
    box->setValue(value);
    return box;
}

QSpinBox* intBox(int lo, int hi, int value, const QString& special, QWidget* parent) {
    auto* box = new QSpinBox(parent);
    box->setRange(lo, hi);
    box->setValue(value);
    if (!special.isEmpty()) box->setSpecialValueText(special);  // shown at the minimum
    return box;
}

}  // namespace

SamplingControls::SamplingControls(QWidget* parent) : QWidget(parent) {
    temperature_ = doubleBox(0.0, 2.0, 0.05, 0.7, this);
    temperature_->setToolTip(tr("0 is greedy decoding"));
    top_p_ = doubleBox(0.01, 1.0, 0.05, 0.95, this);
    top_k_ = intBox(0, 1000, 0, tr("off"), this);
    max_tokens_ = intBox(1, 32768, 256, QString(), this);
    seed_ = intBox(-1, 2147483647, -1, tr("random"), this);
    seed_->setToolTip(tr("Same seed + same request = same reply"));
    record_routing_ = new QCheckBox(tr("Record routing"), this);
    record_routing_->setChecked(true);
    record_routing_->setToolTip(tr("Ask for the experts of every token (return_routed_experts): needed by the "
                                   "token explorer. Servers without routing support may refuse it."));

    auto* form = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Temperature"), temperature_);
    form->addRow(tr("Top p"), top_p_);
    form->addRow(tr("Top k"), top_k_);
    form->addRow(tr("Max tokens"), max_tokens_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(record_routing_);

    load();
    const auto changedSlot = [this] {
        save();
        emit changed();
    };
    for (auto* box : {temperature_, top_p_})
        connect(box, &QDoubleSpinBox::valueChanged, this, changedSlot);
    for (auto* box : {top_k_, max_tokens_, seed_}) connect(box, &QSpinBox::valueChanged, this, changedSlot);
    connect(record_routing_, &QCheckBox::toggled, this, changedSlot);
}

QJsonObject SamplingControls::requestOptions() const {
    QJsonObject o{{QStringLiteral("temperature"), temperature_->value()},
                  {QStringLiteral("top_p"), top_p_->value()},
                  {QStringLiteral("max_tokens"), max_tokens_->value()}};
    if (top_k_->value() > 0) o.insert(QStringLiteral("top_k"), top_k_->value());
    if (seed_->value() >= 0) o.insert(QStringLiteral("seed"), seed_->value());
    if (record_routing_->isChecked()) o.insert(QStringLiteral("return_routed_experts"), true);
    return o;
}

void SamplingControls::setRecordRouting(bool on) { record_routing_->setChecked(on); }
void SamplingControls::setMaxTokens(int n) { max_tokens_->setValue(n); }
void SamplingControls::setSeed(int seed) { seed_->setValue(seed); }

void SamplingControls::load() {
    QSettings s;
    s.beginGroup(QStringLiteral("chat/sampling"));
    temperature_->setValue(s.value(QStringLiteral("temperature"), temperature_->value()).toDouble());
    top_p_->setValue(s.value(QStringLiteral("top_p"), top_p_->value()).toDouble());
    top_k_->setValue(s.value(QStringLiteral("top_k"), top_k_->value()).toInt());
    max_tokens_->setValue(s.value(QStringLiteral("max_tokens"), max_tokens_->value()).toInt());
    seed_->setValue(s.value(QStringLiteral("seed"), seed_->value()).toInt());
    record_routing_->setChecked(s.value(QStringLiteral("record_routing"), true).toBool());
}

void SamplingControls::save() const {
    QSettings s;
    s.beginGroup(QStringLiteral("chat/sampling"));
    s.setValue(QStringLiteral("temperature"), temperature_->value());
    s.setValue(QStringLiteral("top_p"), top_p_->value());
    s.setValue(QStringLiteral("top_k"), top_k_->value());
    s.setValue(QStringLiteral("max_tokens"), max_tokens_->value());
    s.setValue(QStringLiteral("seed"), seed_->value());
    s.setValue(QStringLiteral("record_routing"), record_routing_->isChecked());
}

}  // namespace moe::ui
