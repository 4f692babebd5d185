#include "scientific_spin_box.h"

#include <cmath>

namespace moe::ui::finetune {

ScientificSpinBox::ScientificSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
    setDecimals(12);  // the value keeps its digits; the text shows three
    setRange(0.0, 10.0);
}

QString ScientificSpinBox::textFromValue(double value) const {
    if (value == 0) return QStringLiteral("0");
    // Plain notation where it is short (0.5, 0.3), scientific where zeros would pile up (2e-04).
    const double magnitude = std::abs(value);
    return magnitude >= 1e-2 && magnitude < 1e4 ? QString::number(value, 'g', 3) : QString::number(value, 'e', 1);
}

double ScientificSpinBox::valueFromText(const QString& text) const { return text.trimmed().toDouble(); }

QValidator::State ScientificSpinBox::validate(QString& text, int&) const {
    const QString t = text.trimmed();
    if (t.isEmpty() || t.endsWith(QLatin1Char('e')) || t.endsWith(QLatin1String("e-")) || t == QLatin1String("."))
        return QValidator::Intermediate;
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (!ok) return QValidator::Invalid;
    return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
}

void ScientificSpinBox::stepBy(int steps) {
    const double v = value() > 0 ? value() : 1e-4;
    setValue(v * std::pow(2.0, steps));
}

}  // namespace moe::ui::finetune
