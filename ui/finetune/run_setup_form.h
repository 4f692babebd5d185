// The settings of a new fine-tune run: the model (the chat's model, a recent one or any folder),
// the data (files and folders; a folder is a domain named after it), the method (LoRA, every
// weight, the MTP head) and its hyper-parameters, in plain words with units; the engine's names are
// in the tooltips. Defaults suit a first run (RunSettings); changing the method proposes that
// method's learning rate. Laid out in two columns of groups that stack when the panel is narrow.
#pragma once

#include <QWidget>

#include "run_settings.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace moe::ui::finetune {

class ScientificSpinBox;

class RunSetupForm : public QWidget {
    Q_OBJECT
public:
    explicit RunSetupForm(QWidget* parent = nullptr);

    RunSettings settings() const;
    void setSettings(const RunSettings& s);
    // Models offered in the model box (the loaded model first); the current text is kept.
    void setModelChoices(const QStringList& folders);
    void setModel(const QString& folder);
    void addDataPath(const QString& path);

    QComboBox* modelBox() const { return model_; }
    QListWidget* dataList() const { return data_; }
    QComboBox* methodBox() const { return method_; }

signals:
    void changed();  // any setting (the data report no longer matches)

private:
    QGroupBox* buildModelAndData();
    QGroupBox* buildMethod();
    QGroupBox* buildSchedule();
    QGroupBox* buildBatches();
    QGroupBox* buildObjectives();
    QGroupBox* buildSaving();
    void onMethodChanged();
    void chooseModelFolder();
    void addDataFolder();
    void addDataFiles();
    void watch(QWidget* field);

    QComboBox* model_ = nullptr;
    QListWidget* data_ = nullptr;
    QPushButton* remove_data_ = nullptr;
    QComboBox* method_ = nullptr;
    QGroupBox* lora_group_ = nullptr;
    QSpinBox* lora_rank_ = nullptr;
    QDoubleSpinBox* lora_alpha_ = nullptr;
    QDoubleSpinBox* lora_dropout_ = nullptr;
    QList<QCheckBox*> lora_targets_;
    QSpinBox* steps_ = nullptr;
    ScientificSpinBox* lr_ = nullptr;
    QSpinBox* warmup_ = nullptr;
    QComboBox* decay_ = nullptr;
    QSpinBox* seq_len_ = nullptr;
    QSpinBox* batch_ = nullptr;
    QSpinBox* accumulation_ = nullptr;
    QDoubleSpinBox* holdout_ = nullptr;
    QDoubleSpinBox* mtp_lambda_ = nullptr;
    ScientificSpinBox* balance_alpha_ = nullptr;
    ScientificSpinBox* bias_gamma_ = nullptr;
    QDoubleSpinBox* weight_decay_ = nullptr;
    QDoubleSpinBox* clip_ = nullptr;
    QSpinBox* eval_every_ = nullptr;
    QSpinBox* checkpoint_every_ = nullptr;
    QSpinBox* keep_ = nullptr;
    QSpinBox* seed_ = nullptr;
    Method method_shown_ = Method::Lora;
};

}  // namespace moe::ui::finetune
