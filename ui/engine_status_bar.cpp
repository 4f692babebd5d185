#include "engine_status_bar.h"

#include <QLabel>
#include <QLocale>
#include <QStatusBar>

#include "engine_client.h"
#include "speculative_summary.h"

namespace moe::ui {

namespace {

QLabel* field(const QString& name, QStatusBar* bar, const QString& tooltip) {
    auto* label = new QLabel(bar);
    label->setObjectName(name);
    label->setToolTip(tooltip);
    label->setContentsMargins(6, 0, 6, 0);
    bar->addPermanentWidget(label);
    return label;
}

QString bytes(double n) { return QLocale().formattedDataSize(qint64(n), 1, QLocale::DataSizeTraditionalFormat); }

}  // namespace

EngineStatusBar::EngineStatusBar(EngineClient* client, QStatusBar* bar) : QObject(bar) {
    model_ = field(QStringLiteral("statusModel"), bar, tr("The model the engine serves"));
    backend_ = field(QStringLiteral("statusBackend"), bar, tr("Where the model runs: the CPU or a GPU"));
    memory_ = field(QStringLiteral("statusMemory"), bar, tr("GPU memory in use (and the engine process's RAM)"));
    speed_ = field(QStringLiteral("statusSpeed"), bar, tr("How fast the model writes: the reply being written, else the last one"));
    speculation_ = field(QStringLiteral("statusSpeculation"), bar,
                         tr("Speculative decoding with the model's MTP modules: the share of 1st drafted tokens the "
                            "model kept, tokens gained per checking step, and the writing speed; the MTP acceptance "
                            "tab has the details"));
    speculation_->hide();
    connection_ = field(QStringLiteral("statusConnection"), bar, tr("The engine this window talks to"));
    model_->setText(tr("no model"));
    backend_->setText(tr("runs on: —"));
    memory_->setText(tr("memory: —"));
    speed_->setText(tr("— tokens/s"));
    setConnectionText(tr("not connected"));
    connect(client, &EngineClient::modelsChanged, this, &EngineStatusBar::onModels);
    connect(client, &EngineClient::health, this, &EngineStatusBar::onHealth);
    connect(client, &EngineClient::telemetry, this, &EngineStatusBar::onTelemetry);
    connect(client, &EngineClient::connectionStateChanged, this, &EngineStatusBar::onReachable);
}

void EngineStatusBar::setConnectionText(const QString& text) {
    where_ = text;
    connection_->setText(QStringLiteral("%1 %2").arg(reachable_ ? QStringLiteral("●") : QStringLiteral("○"), where_));
}

void EngineStatusBar::onReachable(bool reachable) {
    reachable_ = reachable;
    connection_->setStyleSheet(reachable ? QStringLiteral("color: #1b7f3b;") : QStringLiteral("color: #b00020;"));
    setConnectionText(where_);
}

void EngineStatusBar::onModels(const QJsonArray& models) {
    if (models.isEmpty()) {
        model_->setText(tr("no model loaded"));
        return;
    }
    const QJsonObject m = models.first().toObject();
    const QString id = m.value(QStringLiteral("id")).toString();
    model_->setText(id == QLatin1String("demo-trained")     ? tr("model: %1 (tiny demo trained here)").arg(id)
                    : id == QLatin1String("demo-untrained") ? tr("model: %1 (untrained demo)").arg(id)
                                                            : tr("model: %1").arg(id));
    const QString backend = m.value(QStringLiteral("backend")).toString();
    backend_->setText(backend.isEmpty()                      ? tr("runs on: not reported")
                      : backend == QLatin1String("cuda") ? tr("runs on: GPU (CUDA)")
                                                         : tr("runs on: %1").arg(backend.toUpper()));
    backend_->setToolTip(tr("Where the model runs: %1").arg(m.value(QStringLiteral("backend_detail")).toString()));
}

void EngineStatusBar::setSpeculation(const QJsonObject& speculative) {
    // A load starts the engine's counters over: the field goes away with them.
    const QString text = speculativeStatusText(SpeculativeSummary::fromJson(speculative));
    speculation_->setText(text);
    speculation_->setVisible(!text.isEmpty());
}

void EngineStatusBar::onHealth(const QJsonObject& health) {
    if (health.value(QStringLiteral("model")).isNull()) model_->setText(tr("no model loaded"));
}

void EngineStatusBar::onTelemetry(const QJsonObject& snapshot) {
    const QJsonObject generation = snapshot.value(QStringLiteral("generation")).toObject();
    const double tps = generation.value(QStringLiteral("tokens_per_second")).toDouble(-1);
    const bool active = generation.value(QStringLiteral("active")).toBool();
    if (tps >= 0)
        speed_->setText(active ? tr("writing at %1 tokens/s").arg(tps, 0, 'f', 1)
                               : tr("last reply: %1 tokens/s").arg(tps, 0, 'f', 1));

    // null while no model is loaded: the field goes away.
    if (snapshot.contains(QStringLiteral("speculative")))
        setSpeculation(snapshot.value(QStringLiteral("speculative")).toObject());

    const QJsonObject memory = snapshot.value(QStringLiteral("memory")).toObject();
    const QString rss = memory.contains(QStringLiteral("rss_bytes"))
                            ? tr("RAM %1").arg(bytes(memory.value(QStringLiteral("rss_bytes")).toDouble()))
                            : QString();
    // GPU fields appear when the engine runs a CUDA backend; the CPU engine reports none.
    const QJsonValue gpu_used = memory.value(QStringLiteral("gpu_used_bytes"));
    const QJsonValue gpu_total = memory.value(QStringLiteral("gpu_total_bytes"));
    QString gpu = tr("GPU: not in use");
    if (gpu_used.isDouble())
        gpu = gpu_total.isDouble() ? tr("GPU %1 / %2").arg(bytes(gpu_used.toDouble()), bytes(gpu_total.toDouble()))
                                   : tr("GPU %1").arg(bytes(gpu_used.toDouble()));
    memory_->setText(rss.isEmpty() ? gpu : gpu + QStringLiteral(" · ") + rss);
}

QString EngineStatusBar::modelText() const { return model_->text(); }
QString EngineStatusBar::speedText() const { return speed_->text(); }
QString EngineStatusBar::memoryText() const { return memory_->text(); }
QString EngineStatusBar::connectionText() const { return connection_->text(); }
QString EngineStatusBar::backendText() const { return backend_->text(); }
QString EngineStatusBar::speculationText() const { return speculation_->text(); }

}  // namespace moe::ui
