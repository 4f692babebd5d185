#include "plan_view.h"

#include <QCoreApplication>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QMap>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

#include "format.h"

namespace moe::ui::finetune {

namespace {

QString number(qint64 n) { return QLocale().toString(n); }
qint64 count(const QJsonObject& o, const char* key) { return o.value(QLatin1String(key)).toInteger(); }

// The memory estimate's parts in words (engine/train/training_run.cpp memory_estimate()).
QString memoryPartName(const QString& key) {
    static const QMap<QString, const char*> names = {
        {"frozen_weights", QT_TRANSLATE_NOOP("PlanView", "frozen weights")},
        {"masters", QT_TRANSLATE_NOOP("PlanView", "trained weights (32-bit)")},
        {"gradients", QT_TRANSLATE_NOOP("PlanView", "gradients")},
        {"adamw", QT_TRANSLATE_NOOP("PlanView", "optimiser state")},
        {"weight_copies", QT_TRANSLATE_NOOP("PlanView", "working copies of the trained weights")},
        {"activations", QT_TRANSLATE_NOOP("PlanView", "activations kept for the backward pass")},
        {"workspace", QT_TRANSLATE_NOOP("PlanView", "work space (output layer)")},
    };
    const auto it = names.find(key);
    return it == names.end() ? key : QCoreApplication::translate("PlanView", it.value());
}

QString methodWords(const QString& method) {
    if (method == QLatin1String("lora")) return QCoreApplication::translate("PlanView", "LoRA adapters");
    if (method == QLatin1String("full")) return QCoreApplication::translate("PlanView", "every weight");
    if (method == QLatin1String("mtp-head")) return QCoreApplication::translate("PlanView", "the MTP head");
    return method;
}

}  // namespace

PlanView::PlanView(QWidget* parent) : QWidget(parent) {
    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("finetune.plan.summary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    table_ = new QTableWidget(0, 6, this);
    table_->setObjectName(QStringLiteral("finetune.plan.domains"));
    table_->setHorizontalHeaderLabels({tr("Domain"), tr("Documents"), tr("Samples"), tr("Tokens"),
                                       tr("Tokens with loss"), tr("Held out (samples)")});
    table_->horizontalHeaderItem(4)->setToolTip(tr("The tokens the model learns to predict (in chats: the assistant's)"));
    table_->horizontalHeaderItem(5)->setToolTip(tr("Samples kept aside to measure the held-out loss and expert load"));
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionMode(QAbstractItemView::NoSelection);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    table_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    notes_ = new QLabel(this);
    notes_->setObjectName(QStringLiteral("finetune.plan.notes"));
    notes_->setWordWrap(true);
    needs_ = new QLabel(this);
    needs_->setObjectName(QStringLiteral("finetune.plan.memory"));
    needs_->setWordWrap(true);
    needs_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(summary_);
    layout->addWidget(table_);
    layout->addWidget(notes_);
    layout->addWidget(needs_);
    clear();
}

void PlanView::clear() {
    showMessage(tr("Press \"Check data and memory\" to see what the run will train on and how much memory it needs."));
}

void PlanView::showMessage(const QString& text) {
    has_report_ = false;
    summary_->setText(text);
    table_->setRowCount(0);
    table_->hide();
    notes_->clear();
    notes_->hide();
    needs_->clear();
    needs_->hide();
}

QString PlanView::summaryText() const {
    QStringList parts{summary_->text()};
    if (!notes_->text().isEmpty()) parts << notes_->text();
    return parts.join(QLatin1Char('\n'));
}

QString PlanView::memoryText() const { return needs_->text(); }

void PlanView::showPlan(const QJsonObject& data_report, const QJsonObject& plan) {
    if (data_report.isEmpty() && plan.isEmpty()) return clear();
    if (!data_report.isEmpty()) showReport(data_report);
    else showMessage(tr("The data report comes with the run's first events."));
    showNeeds(plan);
}

void PlanView::showReport(const QJsonObject& r) {
    has_report_ = true;
    const QJsonObject train = r.value("totals").toObject().value("train").toObject();
    const QJsonObject held = r.value("totals").toObject().value("holdout").toObject();
    const QJsonArray domains = r.value("domains").toArray();
    summary_->setText(tr("Trains on %1 samples of %2 kind(s) of text: %3 tokens, %4 of them with loss. %5 samples "
                         "held out to evaluate. Sequences of %6 tokens, %7 per step.")
                          .arg(number(count(train, "samples")))
                          .arg(domains.size())
                          .arg(number(count(train, "tokens")), number(count(train, "loss_tokens")),
                               number(count(held, "samples")), number(count(r, "seq_len")), number(count(r, "batch"))));
    table_->setRowCount(int(domains.size()));
    for (int i = 0; i < domains.size(); ++i) {
        // Older engines list the domains by name only: then the counts are the totals above.
        const QJsonObject d = domains[i].toObject();
        const QString name = domains[i].isString() ? domains[i].toString() : d.value("name").toString();
        const QJsonObject t = d.value("train").toObject(), h = d.value("holdout").toObject();
        const QString dash = QStringLiteral("–");
        const QStringList cells = d.isEmpty() ? QStringList{name, dash, dash, dash, dash, dash}
                                              : QStringList{name,
                                                            number(count(d, "documents")),
                                                            number(count(t, "samples")),
                                                            number(count(t, "tokens")),
                                                            number(count(t, "loss_tokens")),
                                                            number(count(h, "samples"))};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (c > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(i, c, item);
        }
    }
    table_->setVisible(!domains.isEmpty());
    QStringList notes;
    const QJsonObject cut = r.value("truncated").toObject();
    if (count(cut, "samples") > 0)
        notes << tr("%1 chat sample(s) were longer than a sequence and cut (%2 tokens left out).")
                     .arg(number(count(cut, "samples")), number(count(cut, "tokens")));
    if (count(r, "chunked_documents") > 0)
        notes << tr("%1 text document(s) longer than a sequence were cut into pieces.").arg(number(count(r, "chunked_documents")));
    const QJsonArray malformed = r.value("malformed").toArray();
    if (!malformed.isEmpty()) {
        const QJsonObject m = malformed.first().toObject();
        notes << tr("%1 line(s) could not be used and were skipped, e.g. %2:%3: %4.")
                     .arg(malformed.size())
                     .arg(m.value("file").toString())
                     .arg(m.value("line").toInteger())
                     .arg(m.value("reason").toString());
    }
    const QJsonArray dropped = r.value("dropped").toArray();
    if (!dropped.isEmpty())
        notes << tr("%1 sample(s) left nothing to learn and were left out, e.g. %2: %3.")
                     .arg(dropped.size())
                     .arg(dropped.first().toObject().value("origin").toString(),
                          dropped.first().toObject().value("reason").toString());
    notes_->setText(notes.join(QLatin1Char(' ')));
    notes_->setVisible(!notes.isEmpty());
}

void PlanView::showNeeds(const QJsonObject& plan) {
    if (plan.isEmpty()) {
        needs_->clear();
        needs_->hide();
        return;
    }
    QString text = tr("Trains %1 parameters (%2) · %3 tokens per step · on the %4 backend.")
                       .arg(format_count(count(plan, "trainable_parameters")), methodWords(plan.value("method").toString()),
                            number(count(plan, "tokens_per_step")), plan.value("backend").toString());
    const QJsonObject memory = plan.value("memory").toObject();
    if (!memory.isEmpty()) {
        QList<QPair<double, QString>> parts;
        for (auto it = memory.begin(); it != memory.end(); ++it)
            if (it.key() != QLatin1String("total") && it.value().toDouble() > 0)
                parts << qMakePair(it.value().toDouble(), it.key());
        std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        QStringList words;
        for (const auto& [bytes, key] : parts) words << QStringLiteral("%1 %2").arg(memoryPartName(key), format_bytes(qint64(bytes)));
        text += QStringLiteral("\n") + tr("Memory needed: about %1 (%2). An estimate before the first step.")
                                           .arg(format_bytes(qint64(memory.value("total").toDouble())), words.join(QStringLiteral(", ")));
    } else {
        text += QStringLiteral("\n") + tr("This engine gives no memory estimate.");
    }
    needs_->setText(text);
    needs_->show();
}

}  // namespace moe::ui::finetune
