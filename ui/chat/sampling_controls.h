// The request's sampling settings: temperature, top_p, top_k, max tokens, seed and whether to
// record routing (return_routed_experts, on by default: the routing views and the token explorer
// need it). Values are remembered in QSettings under "chat/sampling/".
#pragma once

#include <QJsonObject>
#include <QWidget>

class QCheckBox;
class QDoubleSpinBox;
class QSpinBox;

namespace moe::ui {

class SamplingControls : public QWidget {
    Q_OBJECT
public:
    explicit SamplingControls(QWidget* parent = nullptr);

    // The OpenAI request fields these controls stand for (unset ones are left out).
    QJsonObject requestOptions() const;
    void setRecordRouting(bool on);
    void setMaxTokens(int n);
    void setSeed(int seed);  // -1: random

signals:
    void changed();

private:
    void load();
    void save() const;

    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* top_p_;
    QSpinBox* top_k_;
    QSpinBox* max_tokens_;
    QSpinBox* seed_;
    QCheckBox* record_routing_;
};

}  // namespace moe::ui
