#include "mtp_panel.h"

#include <QJsonArray>
#include <QLabel>
#include <QHBoxLayout>
#include <QVBoxLayout>

#include "bar_chart_widget.h"
#include "export_bar.h"
#include "time_series_widget.h"

namespace moe::ui {

namespace {

QLabel* wrappedLabel(const QString& name, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

QString noReplyYet() {
    return QObject::tr("No speculative reply yet. Turn on \"Speculative decoding (MTP)\" under the chat's Sampling "
                       "settings and send a message.");
}

}  // namespace

MtpPanel::MtpPanel(EngineClient* client, QWidget* parent) : QWidget(parent), client_(client) {
    status_ = wrappedLabel(QStringLiteral("mtpStatus"), this);
    mean_length_ = wrappedLabel(QStringLiteral("mtpMeanLength"), this);
    mean_length_->setToolTip(tr("Tokens the reply gains per forward pass of the main model that checks the drafts: "
                                "the drafts it keeps plus its own next token (SGLang's \"accept length\"). "
                                "Without speculation it is 1."));
    speed_ = wrappedLabel(QStringLiteral("mtpSpeed"), this);
    speed_->setToolTip(tr("The engine's average decoding rate of replies with and without speculative decoding "
                          "since the model was loaded (decode_tokens_per_second)."));

    acceptance_ = new viz::TimeSeriesWidget(this);
    acceptance_->setObjectName(QStringLiteral("mtpAcceptance"));
    acceptance_->setAxisTitles(tr("speculative reply (number since the model was loaded)"),
                               tr("drafted tokens kept, %"));
    acceptance_->setToolTip(tr("For each draft position (the 1st, 2nd … token an MTP module guessed ahead in a step), "
                               "the share of its guesses the main model agreed with, per reply. Position j counts "
                               "as kept only when drafts 1 to j were all kept."));
    acceptance_->setYSpan(0, 100);  // a share: the whole scale, so 70 % does not look like 0
    acceptance_->setMinimumHeight(180);
    domains_ = new viz::BarChartWidget(this);
    domains_->setObjectName(QStringLiteral("mtpDomains"));
    domains_->setToolTip(tr("Share of drafted tokens kept, over all draft positions, for requests that named a "
                            "domain (the request field \"domain\", e.g. code)."));
    domains_->setMinimumHeight(140);

    exports_ = new ExportBar(this);
    exports_->addCsvTarget(tr("acceptance per draft position, per reply"), QStringLiteral("mtp-acceptance"),
                           [this](const QString& p, QString* e) { return acceptance_->saveCsv(p, e); });
    exports_->addCsvTarget(tr("acceptance per domain"), QStringLiteral("mtp-acceptance-domains"),
                           [this](const QString& p, QString* e) { return domains_->saveCsv(p, e); });
    exports_->addPngTarget(tr("acceptance per draft position, per reply"), QStringLiteral("mtp-acceptance"),
                           [this](const QString& p, QString* e) { return acceptance_->savePng(p, 0, 0, e); });
    exports_->addPngTarget(tr("acceptance per domain"), QStringLiteral("mtp-acceptance-domains"),
                           [this](const QString& p, QString* e) { return domains_->savePng(p, 0, 0, e); });

    auto* layout = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(status_, 1);
    top->addWidget(exports_, 0, Qt::AlignTop);
    layout->addLayout(top);
    layout->addWidget(mean_length_);
    layout->addWidget(speed_);
    layout->addWidget(acceptance_, 3);
    layout->addWidget(domains_, 2);

    poll_.setInterval(kPollIntervalMs);
    connect(&poll_, &QTimer::timeout, this, &MtpPanel::refresh);
    if (client_) {
        connect(client_, &EngineClient::modelsChanged, this, &MtpPanel::onModels);
        // Every finished reply may have moved the counters; a hidden panel is filled this way too.
        connect(client_, &EngineClient::finished, this, &MtpPanel::refresh);
    }
    status_->setText(tr("No model loaded."));
    setChartsVisible(false);
}

void MtpPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    poll_.start();
    refresh();
}

void MtpPanel::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    poll_.stop();
}

void MtpPanel::refresh() {
    // A model without MTP modules (or a server without the route) has nothing to report until another
    // model is loaded.
    if (!client_ || !has_model_ || no_reports_) return;
    if (in_flight_) {
        again_ = true;
        return;
    }
    in_flight_ = true;
    client_->sendJson("GET", QStringLiteral("/workbench/v1/speculative?history=%1").arg(kHistory), {}, this,
                      [this](const EngineClient::JsonReply& reply) { onReply(reply); });
}

void MtpPanel::onReply(const EngineClient::JsonReply& reply) {
    in_flight_ = false;
    if (reply.ok()) showSummary(reply.body);
    else if (reply.status == 404 || reply.status == 405) {
        no_reports_ = true;
        showUnavailable(tr("This server does not report speculative decoding (GET /workbench/v1/speculative "
                           "answered %1): only moe-engine serve does.").arg(reply.status));
    }
    else if (reply.status != 0) showUnavailable(tr("The engine did not send its acceptance summary: %1").arg(reply.error));
    // Not reached (status 0): the banner and the status bar say so; the next poll tries again.
    if (again_) {
        again_ = false;
        refresh();
    }
}

void MtpPanel::onModels(const QJsonArray& models) {
    has_model_ = !models.isEmpty();
    no_reports_ = false;
    summary_.reset();
    model_id_.clear();
    if (!has_model_) {
        status_->setText(tr("No model loaded."));
        setChartsVisible(false);
        emit updated();
        return;
    }
    const QJsonObject m = models.first().toObject();
    const QString id = m.value(QStringLiteral("id")).toString();
    model_id_ = id;
    // Servers other than moe-engine serve do not list mtp_modules; their summary request then says so.
    if (m.contains(QStringLiteral("mtp_modules")) && m.value(QStringLiteral("mtp_modules")).toInt() <= 0) showNoMtp(id);
    else refresh();
}

void MtpPanel::showSummary(const QJsonObject& json) {
    SpeculativeSummary s = SpeculativeSummary::fromJson(json);
    // An answer about the model before a switch, still on its way: the next poll asks about this one.
    if (!model_id_.isEmpty() && !s.model.isEmpty() && s.model != model_id_) return;
    if (s.mtp_modules <= 0) {
        summary_ = std::move(s);
        showNoMtp(summary_->model);
        return;
    }
    QString status = tr("%1 has %2 to draft with. Since it was loaded: %3 speculative and %4 plain replies.")
                         .arg(s.model.isEmpty() ? tr("The model") : s.model)
                         .arg(s.mtp_modules == 1 ? tr("1 MTP module") : tr("%1 MTP modules").arg(s.mtp_modules))
                         .arg(s.speculative_requests)
                         .arg(s.plain_requests);
    // The reply being written speculatively now, updated after every verification step.
    if (s.running && s.running->steps > 0) status += QLatin1Char('\n') + speculativeStatusText(s);
    status_->setText(status);
    mean_length_->setText(s.meanLengthText());
    speed_->setText(s.speedText());
    setChartsVisible(true);
    drawAcceptance(s);
    drawDomains(s);
    summary_ = std::move(s);
    emit updated();
}

void MtpPanel::drawAcceptance(const SpeculativeSummary& s) {
    const QVector<AcceptanceSeries> series = s.acceptanceSeries();
    if (acceptance_->seriesCount() != series.size()) {
        acceptance_->clearSeries();
        for (const AcceptanceSeries& line : series)
            acceptance_->addSeries(line.position == 1 ? tr("1st drafted token")
                                   : line.position == 2 ? tr("2nd drafted token")
                                   : line.position == 3 ? tr("3rd drafted token")
                                                        : tr("drafted token %1").arg(line.position),
                                   true);
    }
    for (int i = 0; i < series.size(); ++i) acceptance_->setPoints(i, series[i].x, series[i].y);
    acceptance_->setEmptyMessage(series.isEmpty() ? noReplyYet() : QString());
}

void MtpPanel::drawDomains(const SpeculativeSummary& s) {
    domains_->setCategoryNames(s.domainNames());
    domains_->setValues(s.domainAcceptance(), tr("domain"), tr("drafted tokens kept, %"));
    domains_->setEmptyMessage(s.domains.isEmpty()
                                  ? tr("No reply named a domain yet. Requests that send \"domain\" (e.g. \"code\") "
                                       "are counted per domain here.")
                                  : QString());
}

void MtpPanel::showNoMtp(const QString& model) {
    no_reports_ = true;
    status_->setText(tr("%1 has no MTP modules, so it cannot draft tokens and speculative decoding is off. To add "
                        "one, train a drafting head on this checkpoint with\n"
                        "moe-engine train --model DIR --data FILE --method mtp-head\n"
                        "(docs/training.md; or the Fine-tune tab with the method \"MTP head\"), export the run and load the "
                        "result.")
                         .arg(model.isEmpty() ? tr("The loaded model") : model));
    mean_length_->clear();
    speed_->clear();
    setChartsVisible(false);
    emit updated();
}

void MtpPanel::showUnavailable(const QString& why) {
    status_->setText(why);
    mean_length_->clear();
    speed_->clear();
    setChartsVisible(false);
    emit updated();
}

void MtpPanel::setChartsVisible(bool on) {
    for (QWidget* w : {static_cast<QWidget*>(acceptance_), static_cast<QWidget*>(domains_)}) w->setVisible(on);
    mean_length_->setVisible(on);
    exports_->setVisible(on);
    speed_->setVisible(on);
}

QString MtpPanel::statusText() const { return status_->text(); }
QString MtpPanel::meanLengthText() const { return mean_length_->text(); }
QString MtpPanel::speedText() const { return speed_->text(); }

}  // namespace moe::ui
