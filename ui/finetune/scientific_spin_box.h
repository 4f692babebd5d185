// A spin box for small positive numbers that span decades (learning rates, loss weights): shows
// "2e-04"-style values with three significant digits, reads any number a person types ("0.0002",
// "2e-4"), and steps by doubling and halving instead of adding a fixed amount.
#pragma once

#include <QDoubleSpinBox>

namespace moe::ui::finetune {

class ScientificSpinBox : public QDoubleSpinBox {
    Q_OBJECT
public:
    explicit ScientificSpinBox(QWidget* parent = nullptr);

    QString textFromValue(double value) const override;
    double valueFromText(const QString& text) const override;
    QValidator::State validate(QString& text, int& pos) const override;
    void stepBy(int steps) override;
};

}  // namespace moe::ui::finetune
