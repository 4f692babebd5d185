#include "sampling_controls.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>

#include <algorithm>

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
    temperature_->setObjectName(QStringLiteral("samplingTemperature"));
    temperature_->setToolTip(tr("How adventurous the wording is, 0–2. At 0 the model always takes its most likely "
                                "next token (the same reply every time); higher values vary more."));
    top_p_ = doubleBox(0.01, 1.0, 0.05, 0.95, this);
    top_p_->setObjectName(QStringLiteral("samplingTopP"));
    top_p_->setToolTip(tr("Pick only among the most likely next tokens that together make up this share of the "
                          "probability, 0.01–1 (1 = consider every token)."));
    top_k_ = intBox(0, 1000, 0, tr("off"), this);
    top_k_->setObjectName(QStringLiteral("samplingTopK"));
    top_k_->setSuffix(tr(" tokens"));
    top_k_->setToolTip(tr("Pick only among this many most likely next tokens (off = no limit)."));
    max_tokens_ = intBox(1, kDefaultMaxTokensCeiling, preferred_max_tokens_, QString(), this);
    max_tokens_->setObjectName(QStringLiteral("samplingMaxTokens"));
    max_tokens_->setSuffix(tr(" tokens"));
    seed_ = intBox(-1, 2147483647, -1, tr("random"), this);
    seed_->setObjectName(QStringLiteral("samplingSeed"));
    seed_->setToolTip(tr("The same seed and the same message give the same reply; \"random\" differs every time."));
    record_routing_ = new QCheckBox(tr("Record expert routing"), this);
    record_routing_->setObjectName(QStringLiteral("samplingRecordRouting"));
    record_routing_->setChecked(true);
    record_routing_->setToolTip(tr("Ask the engine which experts every token of the reply went to, so you can click a "
                                   "token (Tokens) and see them. Servers without this feature refuse it."));

    speculative_ = new QCheckBox(tr("Speculative decoding (MTP)"), this);
    speculative_->setObjectName(QStringLiteral("samplingSpeculative"));
    setMtpModules(-1);

    auto* form = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Temperature"), temperature_);
    form->addRow(tr("Top p"), top_p_);
    form->addRow(tr("Top k"), top_k_);
    form->addRow(tr("Reply length"), max_tokens_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(record_routing_);
    form->addRow(speculative_);

    load();
    applyMaxTokensLimit();
    const auto changedSlot = [this] {
        save();
        emit changed();
    };
    for (auto* box : {temperature_, top_p_})
        connect(box, &QDoubleSpinBox::valueChanged, this, changedSlot);
    for (auto* box : {top_k_, seed_}) connect(box, &QSpinBox::valueChanged, this, changedSlot);
    // A value the user types is their choice; a value the limit forced is not.
    connect(max_tokens_, &QSpinBox::valueChanged, this, [this, changedSlot](int value) {
        if (value < maxTokensLimit() || value > preferred_max_tokens_) preferred_max_tokens_ = value;
        changedSlot();
    });
    connect(record_routing_, &QCheckBox::toggled, this, changedSlot);
    connect(speculative_, &QCheckBox::toggled, this, changedSlot);
}

void SamplingControls::setMtpModules(int modules) {
    speculative_->setEnabled(modules > 0);
    if (modules > 0)
        speculative_->setToolTip(
            tr("Let the model's MTP modules (%1 here) guess the next tokens ahead; the model checks the guesses "
               "several at a time and keeps the ones it agrees with. Greedy replies (temperature 0) come out the "
               "same; sampled ones follow the same odds. The MTP acceptance tab shows how many guesses it keeps "
               "and how much faster it writes.")
                .arg(modules));
    else if (modules == 0)
        speculative_->setToolTip(tr("The loaded model has no MTP modules to guess tokens ahead with. Add one with "
                                    "moe-engine train --method mtp-head (or the Fine-tune tab, method \"MTP head\")."));
    else
        speculative_->setToolTip(tr("Unavailable: no model is loaded, or the server does not say whether its model "
                                    "has MTP modules."));
    emit changed();  // whether "speculative" is sent follows
}

bool SamplingControls::speculativeAvailable() const { return speculative_->isEnabled(); }
bool SamplingControls::speculative() const { return speculative_->isChecked(); }
void SamplingControls::setSpeculative(bool on) { speculative_->setChecked(on); }

int SamplingControls::maxTokensLimit() const {
    return model_context_ > 0 ? std::min(model_context_, kDefaultMaxTokensCeiling) : kDefaultMaxTokensCeiling;
}

int SamplingControls::maxTokens() const { return max_tokens_->value(); }

void SamplingControls::setModelLimits(int max_context) {
    model_context_ = std::max(0, max_context);
    applyMaxTokensLimit();
}

void SamplingControls::applyMaxTokensLimit() {
    const int limit = maxTokensLimit();
    {
        const QSignalBlocker block(max_tokens_);
        max_tokens_->setMaximum(limit);
        max_tokens_->setValue(std::min(preferred_max_tokens_, limit));
    }
    max_tokens_->setToolTip(
        model_context_ > 0
            ? tr("The reply stops after this many tokens. At most %1: the loaded model reads %1 tokens at once "
                 "(its context), and your conversation takes part of that.").arg(model_context_)
            : tr("The reply stops after this many tokens (the loaded model's context is not known)."));
    emit changed();
}

QJsonObject SamplingControls::requestOptions() const {
    QJsonObject o{{QStringLiteral("temperature"), temperature_->value()},
                  {QStringLiteral("top_p"), top_p_->value()},
                  {QStringLiteral("max_tokens"), max_tokens_->value()}};
    if (top_k_->value() > 0) o.insert(QStringLiteral("top_k"), top_k_->value());
    if (seed_->value() >= 0) o.insert(QStringLiteral("seed"), seed_->value());
    if (record_routing_->isChecked()) o.insert(QStringLiteral("return_routed_experts"), true);
    if (speculative_->isChecked() && speculative_->isEnabled()) o.insert(QStringLiteral("speculative"), true);
    return o;
}

void SamplingControls::setRecordRouting(bool on) { record_routing_->setChecked(on); }
void SamplingControls::setMaxTokens(int n) {
    preferred_max_tokens_ = std::max(1, n);
    applyMaxTokensLimit();
    save();
}
void SamplingControls::setSeed(int seed) { seed_->setValue(seed); }

void SamplingControls::load() {
    QSettings s;
    s.beginGroup(QStringLiteral("chat/sampling"));
    temperature_->setValue(s.value(QStringLiteral("temperature"), temperature_->value()).toDouble());
    top_p_->setValue(s.value(QStringLiteral("top_p"), top_p_->value()).toDouble());
    top_k_->setValue(s.value(QStringLiteral("top_k"), top_k_->value()).toInt());
    preferred_max_tokens_ = std::max(1, s.value(QStringLiteral("max_tokens"), preferred_max_tokens_).toInt());
    seed_->setValue(s.value(QStringLiteral("seed"), seed_->value()).toInt());
    record_routing_->setChecked(s.value(QStringLiteral("record_routing"), true).toBool());
    speculative_->setChecked(s.value(QStringLiteral("speculative"), false).toBool());
}

void SamplingControls::save() const {
    QSettings s;
    s.beginGroup(QStringLiteral("chat/sampling"));
    s.setValue(QStringLiteral("temperature"), temperature_->value());
    s.setValue(QStringLiteral("top_p"), top_p_->value());
    s.setValue(QStringLiteral("top_k"), top_k_->value());
    s.setValue(QStringLiteral("max_tokens"), preferred_max_tokens_);
    s.setValue(QStringLiteral("seed"), seed_->value());
    s.setValue(QStringLiteral("record_routing"), record_routing_->isChecked());
    s.setValue(QStringLiteral("speculative"), speculative_->isChecked());
}

}  // namespace moe::ui
