#include "run_setup_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "adaptive_splitter.h"
#include "scientific_spin_box.h"

namespace moe::ui::finetune {

namespace {

constexpr int kTwoColumnsMinPx = 700;  // narrower: the two columns of groups stack

struct LoraTarget {
    const char* key;  // the engine's lora.targets name
    const char* label;
};
const LoraTarget kLoraTargets[] = {
    {"attention", QT_TRANSLATE_NOOP("RunSetupForm", "attention")},
    {"shared_experts", QT_TRANSLATE_NOOP("RunSetupForm", "shared experts")},
    {"experts", QT_TRANSLATE_NOOP("RunSetupForm", "routed experts")},
    {"mlp", QT_TRANSLATE_NOOP("RunSetupForm", "layers without experts")},
};

QSpinBox* intBox(int lo, int hi, const QString& suffix, const QString& tip, QWidget* parent) {
    auto* box = new QSpinBox(parent);
    box->setRange(lo, hi);
    box->setSuffix(suffix);
    box->setToolTip(tip);
    return box;
}

QDoubleSpinBox* realBox(double lo, double hi, int decimals, double step, const QString& tip, QWidget* parent) {
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(lo, hi);
    box->setDecimals(decimals);
    box->setSingleStep(step);
    box->setToolTip(tip);
    return box;
}

QFormLayout* form(QGroupBox* group) {
    auto* f = new QFormLayout(group);
    f->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    return f;
}

}  // namespace

RunSetupForm::RunSetupForm(QWidget* parent) : QWidget(parent) {
    auto* left = new QWidget(this);
    auto* left_layout = new QVBoxLayout(left);
    left_layout->setContentsMargins(0, 0, 0, 0);
    left_layout->addWidget(buildModelAndData());
    left_layout->addWidget(buildMethod());
    left_layout->addStretch(1);
    auto* right = new QWidget(this);
    auto* right_layout = new QVBoxLayout(right);
    right_layout->setContentsMargins(0, 0, 0, 0);
    right_layout->addWidget(buildSchedule());
    right_layout->addWidget(buildBatches());
    right_layout->addWidget(buildObjectives());
    right_layout->addWidget(buildSaving());
    right_layout->addStretch(1);
    auto* columns = new AdaptiveSplitter(kTwoColumnsMinPx, this);
    columns->setObjectName(QStringLiteral("finetune.setup.columns"));
    columns->setChildrenCollapsible(false);
    columns->addWidget(left);
    columns->addWidget(right);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(columns);
    setSettings(RunSettings{});
}

QGroupBox* RunSetupForm::buildModelAndData() {
    auto* group = new QGroupBox(tr("Model and data"), this);
    model_ = new QComboBox(group);
    model_->setObjectName(QStringLiteral("finetune.model"));
    model_->setEditable(true);
    model_->setInsertPolicy(QComboBox::NoInsert);
    model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    model_->setMinimumContentsLength(16);
    model_->setToolTip(tr("The checkpoint folder to fine-tune (config.json, tokenizer, .safetensors weights)"));
    auto* browse = new QPushButton(tr("Folder…"), group);
    connect(browse, &QPushButton::clicked, this, &RunSetupForm::chooseModelFolder);
    auto* model_row = new QHBoxLayout;
    model_row->addWidget(model_, 1);
    model_row->addWidget(browse);

    data_ = new QListWidget(group);
    data_->setObjectName(QStringLiteral("finetune.data"));
    data_->setToolTip(tr("Text (.txt) and .jsonl files ({\"messages\": [...]} chats or {\"text\": ...} lines), or "
                         "folders of them. A folder is one kind of text (domain), named after the folder; the "
                         "held-out loss and expert load are shown per domain."));
    data_->setMinimumHeight(64);
    data_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    auto* add_folder = new QPushButton(tr("Add folder…"), group);
    auto* add_files = new QPushButton(tr("Add files…"), group);
    remove_data_ = new QPushButton(tr("Remove"), group);
    remove_data_->setEnabled(false);
    connect(add_folder, &QPushButton::clicked, this, &RunSetupForm::addDataFolder);
    connect(add_files, &QPushButton::clicked, this, &RunSetupForm::addDataFiles);
    connect(remove_data_, &QPushButton::clicked, this, [this] {
        qDeleteAll(data_->selectedItems());
        emit changed();
    });
    connect(data_, &QListWidget::itemSelectionChanged, this,
            [this] { remove_data_->setEnabled(!data_->selectedItems().isEmpty()); });
    auto* data_buttons = new QHBoxLayout;
    data_buttons->addWidget(add_folder);
    data_buttons->addWidget(add_files);
    data_buttons->addWidget(remove_data_);
    data_buttons->addStretch(1);

    auto* layout = new QVBoxLayout(group);
    layout->addWidget(new QLabel(tr("Model:"), group));
    layout->addLayout(model_row);
    layout->addWidget(new QLabel(tr("Data to train on:"), group));
    layout->addWidget(data_, 1);
    layout->addLayout(data_buttons);
    watch(model_);
    return group;
}

QGroupBox* RunSetupForm::buildMethod() {
    auto* group = new QGroupBox(tr("What to train"), this);
    method_ = new QComboBox(group);
    method_->setObjectName(QStringLiteral("finetune.method"));
    method_->addItem(tr("LoRA adapters (small, fast)"), methodKey(Method::Lora));
    method_->addItem(tr("Every weight (full fine-tune)"), methodKey(Method::Full));
    method_->addItem(tr("Only the MTP head"), methodKey(Method::MtpHead));
    method_->setToolTip(tr("LoRA trains two small matrices beside each chosen weight and leaves the model as it is "
                           "(method = \"lora\"); a full fine-tune changes every weight and needs far more memory "
                           "(\"full\"); the MTP head is the multi-token-prediction module that drafts tokens ahead "
                           "(\"mtp-head\")."));
    connect(method_, &QComboBox::currentIndexChanged, this, &RunSetupForm::onMethodChanged);
    auto* f = form(group);
    f->addRow(tr("Method:"), method_);

    lora_group_ = new QGroupBox(tr("LoRA"), group);
    lora_rank_ = intBox(1, 1024, {}, tr("Rank of the adapters (lora.rank): more = more capacity and memory"), lora_group_);
    lora_alpha_ = realBox(0.1, 4096, 1, 1, tr("Scale of the adapters' output, as alpha ÷ rank (lora.alpha)"), lora_group_);
    lora_dropout_ = realBox(0, 0.9, 2, 0.05, tr("Share of the adapters' inputs dropped in training (lora.dropout)"), lora_group_);
    auto* targets = new QWidget(lora_group_);
    // Two per row: four in one row get clipped in a laptop-width dock.
    auto* targets_layout = new QGridLayout(targets);
    targets_layout->setContentsMargins(0, 0, 0, 0);
    for (const LoraTarget& t : kLoraTargets) {
        auto* box = new QCheckBox(tr(t.label), targets);
        box->setProperty("key", QString::fromLatin1(t.key));
        box->setToolTip(tr("Adapters on the %1 (lora.targets \"%2\")").arg(tr(t.label), QString::fromLatin1(t.key)));
        const int i = int(lora_targets_.size());
        targets_layout->addWidget(box, i / 2, i % 2);
        lora_targets_ << box;
        watch(box);
    }
    targets_layout->setColumnStretch(2, 1);
    auto* lf = form(lora_group_);
    lf->addRow(tr("Rank:"), lora_rank_);
    lf->addRow(tr("Alpha:"), lora_alpha_);
    lf->addRow(tr("Dropout:"), lora_dropout_);
    lf->addRow(tr("Adapters on:"), targets);
    f->addRow(lora_group_);
    for (QWidget* w : {static_cast<QWidget*>(method_), static_cast<QWidget*>(lora_rank_),
                       static_cast<QWidget*>(lora_alpha_), static_cast<QWidget*>(lora_dropout_)})
        watch(w);
    return group;
}

QGroupBox* RunSetupForm::buildSchedule() {
    auto* group = new QGroupBox(tr("Schedule"), this);
    steps_ = intBox(1, 10'000'000, tr(" steps"), tr("Optimiser steps of the run (schedule.steps)"), group);
    steps_->setObjectName(QStringLiteral("finetune.steps"));
    lr_ = new ScientificSpinBox(group);
    lr_->setObjectName(QStringLiteral("finetune.lr"));
    lr_->setToolTip(tr("The learning rate after the warm-up (schedule.lr); the arrows halve and double it"));
    warmup_ = intBox(0, 10'000'000, tr(" steps"), tr("Steps over which the learning rate rises from 0 (schedule.warmup)"), group);
    decay_ = new QComboBox(group);
    decay_->addItem(tr("cosine, down to a tenth"), QStringLiteral("cosine"));
    decay_->addItem(tr("constant"), QStringLiteral("constant"));
    decay_->setToolTip(tr("How the learning rate falls after the warm-up (schedule.decay)"));
    weight_decay_ = realBox(0, 1, 3, 0.01, tr("AdamW's weight decay (optimizer.weight_decay)"), group);
    clip_ = realBox(0, 1000, 2, 0.1, tr("Gradients are scaled down to this total norm when larger; 0 = never "
                                        "(optimizer.clip)"), group);
    clip_->setSpecialValueText(tr("no clipping"));
    auto* f = form(group);
    f->addRow(tr("Length:"), steps_);
    f->addRow(tr("Learning rate:"), lr_);
    f->addRow(tr("Warm-up:"), warmup_);
    f->addRow(tr("Then:"), decay_);
    f->addRow(tr("Weight decay:"), weight_decay_);
    f->addRow(tr("Clip gradients at norm:"), clip_);
    for (QWidget* w : {static_cast<QWidget*>(steps_), static_cast<QWidget*>(lr_), static_cast<QWidget*>(warmup_),
                       static_cast<QWidget*>(decay_), static_cast<QWidget*>(weight_decay_), static_cast<QWidget*>(clip_)})
        watch(w);
    return group;
}

QGroupBox* RunSetupForm::buildBatches() {
    auto* group = new QGroupBox(tr("Batches"), this);
    seq_len_ = intBox(2, 1 << 20, tr(" tokens"), tr("Tokens per packed sequence; longer samples are cut (data.seq_len)"), group);
    seq_len_->setObjectName(QStringLiteral("finetune.seqLen"));
    batch_ = intBox(1, 4096, tr(" sequences"), tr("Sequences per step (data.batch)"), group);
    batch_->setObjectName(QStringLiteral("finetune.batch"));
    accumulation_ = intBox(1, 1024, tr(" ×"), tr("Batches whose gradients add up before each step: a larger "
                                                   "batch in the same memory (data.accumulation)"), group);
    holdout_ = realBox(0, 50, 1, 1, tr("Share of each domain kept aside to measure the held-out loss and expert load "
                                       "(data.holdout)"), group);
    holdout_->setSuffix(tr(" %"));
    auto* f = form(group);
    f->addRow(tr("Sequence length:"), seq_len_);
    f->addRow(tr("Per step:"), batch_);
    f->addRow(tr("Accumulate:"), accumulation_);
    f->addRow(tr("Held out:"), holdout_);
    for (QWidget* w : {static_cast<QWidget*>(seq_len_), static_cast<QWidget*>(batch_),
                       static_cast<QWidget*>(accumulation_), static_cast<QWidget*>(holdout_)})
        watch(w);
    return group;
}

QGroupBox* RunSetupForm::buildObjectives() {
    auto* group = new QGroupBox(tr("Objectives"), this);
    mtp_lambda_ = realBox(0, 10, 3, 0.05, tr("Weight λ of the multi-token-prediction loss; 0 = off; needs a model "
                                              "with MTP modules (objectives.mtp_lambda; DeepSeek-V3: 0.3, later 0.1)"), group);
    balance_alpha_ = new ScientificSpinBox(group);
    balance_alpha_->setToolTip(tr("Weight α of the sequence-wise balance loss that spreads tokens over the experts "
                                  "(objectives.balance_alpha; DeepSeek-V3: 1e-4)"));
    bias_gamma_ = new ScientificSpinBox(group);
    bias_gamma_->setToolTip(tr("How fast the routing bias moves towards even expert loads after each step; 0 = the bias "
                               "stays (objectives.bias_gamma; DeepSeek-V3: 1e-3)"));
    auto* f = form(group);
    f->addRow(tr("MTP loss weight:"), mtp_lambda_);
    f->addRow(tr("Balance loss weight:"), balance_alpha_);
    f->addRow(tr("Routing bias speed:"), bias_gamma_);
    for (QWidget* w : {static_cast<QWidget*>(mtp_lambda_), static_cast<QWidget*>(balance_alpha_),
                       static_cast<QWidget*>(bias_gamma_)})
        watch(w);
    return group;
}

QGroupBox* RunSetupForm::buildSaving() {
    auto* group = new QGroupBox(tr("Evaluate and save"), this);
    eval_every_ = intBox(0, 10'000'000, tr(" steps"), tr("Held-out loss and expert load per domain, before the first "
                                                          "step and every N steps (intervals.eval)"), group);
    eval_every_->setObjectName(QStringLiteral("finetune.evalEvery"));
    eval_every_->setSpecialValueText(tr("never"));
    checkpoint_every_ = intBox(0, 10'000'000, tr(" steps"), tr("A checkpoint every N steps, and one at the end "
                                                                "(intervals.checkpoint)"), group);
    checkpoint_every_->setObjectName(QStringLiteral("finetune.checkpointEvery"));
    checkpoint_every_->setSpecialValueText(tr("at the end only"));
    keep_ = intBox(1, 1000, {}, tr("How many checkpoints to keep; older ones are deleted (intervals.keep_checkpoints)"), group);
    seed_ = intBox(0, 1'000'000'000, {}, tr("Seed of the shuffling, the held-out choice and the LoRA initialisation"), group);
    auto* f = form(group);
    f->addRow(tr("Evaluate every:"), eval_every_);
    f->addRow(tr("Save every:"), checkpoint_every_);
    f->addRow(tr("Keep the last:"), keep_);
    f->addRow(tr("Seed:"), seed_);
    for (QWidget* w : {static_cast<QWidget*>(eval_every_), static_cast<QWidget*>(checkpoint_every_),
                       static_cast<QWidget*>(keep_), static_cast<QWidget*>(seed_)})
        watch(w);
    return group;
}

void RunSetupForm::watch(QWidget* field) {
    if (auto* s = qobject_cast<QSpinBox*>(field)) connect(s, &QSpinBox::valueChanged, this, &RunSetupForm::changed);
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(field)) connect(d, &QDoubleSpinBox::valueChanged, this, &RunSetupForm::changed);
    else if (auto* c = qobject_cast<QComboBox*>(field)) connect(c, &QComboBox::currentTextChanged, this, &RunSetupForm::changed);
    else if (auto* b = qobject_cast<QCheckBox*>(field)) connect(b, &QCheckBox::toggled, this, &RunSetupForm::changed);
}

void RunSetupForm::onMethodChanged() {
    const Method method = methodFromKey(method_->currentData().toString());
    lora_group_->setVisible(method == Method::Lora);
    // A learning rate left at the previous method's default follows the method.
    if (lr_->value() == defaultLearningRate(method_shown_)) lr_->setValue(defaultLearningRate(method));
    if (method == Method::MtpHead && mtp_lambda_->value() == 0) mtp_lambda_->setValue(0.3);
    method_shown_ = method;
}

RunSettings RunSetupForm::settings() const {
    RunSettings s;
    s.model = model_->currentText().trimmed();
    s.method = methodFromKey(method_->currentData().toString());
    for (int i = 0; i < data_->count(); ++i) s.data_paths << data_->item(i)->text();
    s.seq_len = seq_len_->value();
    s.batch = batch_->value();
    s.accumulation = accumulation_->value();
    s.holdout = holdout_->value() / 100.0;
    s.lora_rank = lora_rank_->value();
    s.lora_alpha = lora_alpha_->value();
    s.lora_dropout = lora_dropout_->value();
    s.lora_targets.clear();
    for (QCheckBox* box : lora_targets_)
        if (box->isChecked()) s.lora_targets << box->property("key").toString();
    s.steps = steps_->value();
    s.lr = lr_->value();
    s.warmup = warmup_->value();
    s.cosine = decay_->currentData().toString() == QLatin1String("cosine");
    s.weight_decay = weight_decay_->value();
    s.clip = clip_->value();
    s.mtp_lambda = mtp_lambda_->value();
    s.balance_alpha = balance_alpha_->value();
    s.bias_gamma = bias_gamma_->value();
    s.eval_every = eval_every_->value();
    s.checkpoint_every = checkpoint_every_->value();
    s.keep_checkpoints = keep_->value();
    s.seed = seed_->value();
    return s;
}

void RunSetupForm::setSettings(const RunSettings& s) {
    {
        const QSignalBlocker block(method_);  // a method set with its settings keeps their learning rate
        method_->setCurrentIndex(std::max(0, method_->findData(methodKey(s.method))));
        method_shown_ = s.method;
        lora_group_->setVisible(s.method == Method::Lora);
    }
    setModel(s.model);
    data_->clear();
    for (const QString& p : s.data_paths) data_->addItem(p);
    seq_len_->setValue(s.seq_len);
    batch_->setValue(s.batch);
    accumulation_->setValue(s.accumulation);
    holdout_->setValue(s.holdout * 100.0);
    lora_rank_->setValue(s.lora_rank);
    lora_alpha_->setValue(s.lora_alpha);
    lora_dropout_->setValue(s.lora_dropout);
    for (QCheckBox* box : lora_targets_) box->setChecked(s.lora_targets.contains(box->property("key").toString()));
    steps_->setValue(s.steps);
    lr_->setValue(s.lr);
    warmup_->setValue(s.warmup);
    decay_->setCurrentIndex(s.cosine ? 0 : 1);
    weight_decay_->setValue(s.weight_decay);
    clip_->setValue(s.clip);
    mtp_lambda_->setValue(s.mtp_lambda);
    balance_alpha_->setValue(s.balance_alpha);
    bias_gamma_->setValue(s.bias_gamma);
    eval_every_->setValue(s.eval_every);
    checkpoint_every_->setValue(s.checkpoint_every);
    keep_->setValue(s.keep_checkpoints);
    seed_->setValue(int(s.seed));
    emit changed();
}

void RunSetupForm::setModelChoices(const QStringList& folders) {
    const QString current = model_->currentText();
    const QSignalBlocker block(model_);
    model_->clear();
    model_->addItems(folders);
    model_->setCurrentText(current);
}

void RunSetupForm::setModel(const QString& folder) {
    model_->setCurrentText(folder);
    model_->setToolTip(folder.isEmpty() ? tr("The checkpoint folder to fine-tune") : folder);
}

void RunSetupForm::addDataPath(const QString& path) {
    if (path.isEmpty() || !data_->findItems(path, Qt::MatchExactly).isEmpty()) return;
    data_->addItem(path);
    emit changed();
}

void RunSetupForm::chooseModelFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("The model to fine-tune (a checkpoint folder)"),
                                                          model_->currentText());
    if (!dir.isEmpty()) setModel(dir);
}

void RunSetupForm::addDataFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("A folder of training text (one domain)"));
    addDataPath(dir);
}

void RunSetupForm::addDataFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Training files"), {},
                                                            tr("Text and JSON lines (*.txt *.jsonl *.md);;All files (*)"));
    for (const QString& f : files) addDataPath(f);
}

}  // namespace moe::ui::finetune
