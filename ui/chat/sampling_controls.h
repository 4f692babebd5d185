// The request's sampling settings: temperature, top_p, top_k, the reply length limit (max_tokens),
// seed, whether to record expert routing (return_routed_experts, on by default: the routing views
// and the token explorer need it) and whether to decode speculatively with the model's MTP modules
// ("speculative": true; off by default, and unavailable for a model without MTP modules).
// Values are remembered in QSettings under "chat/sampling/".
// The reply length limit follows the loaded model: never more than its context (setModelLimits);
// the user's own choice is kept and comes back when a model with a longer context is loaded.
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
    void setMaxTokens(int n);  // the user's choice; shown clamped to the model's context
    void setSeed(int seed);  // -1: random
    // The loaded model's context length in tokens (/v1/models max_context); 0 = unknown (no model,
    // or a server that does not say): then only the default ceiling applies.
    void setModelLimits(int max_context);
    int maxTokensLimit() const;
    // The loaded model's MTP modules (/v1/models mtp_modules; -1 = the server does not say). Without
    // any, speculative decoding is unavailable: the box is disabled, says why, and is not sent.
    void setMtpModules(int modules);
    void setSpeculative(bool on);
    bool speculative() const;  // the box is ticked (sent only while available)
    bool speculativeAvailable() const;
    int maxTokens() const;

    static constexpr int kDefaultMaxTokensCeiling = 32768;

signals:
    void changed();

private:
    void load();
    void save() const;
    void applyMaxTokensLimit();

    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* top_p_;
    QSpinBox* top_k_;
    QSpinBox* max_tokens_;
    QSpinBox* seed_;
    QCheckBox* record_routing_;
    QCheckBox* speculative_;
    int preferred_max_tokens_ = 256;  // what the user chose; the box shows it clamped to the limit
    int model_context_ = 0;
};

}  // namespace moe::ui
