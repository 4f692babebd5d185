#include "domain_run.h"

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace moe::ui {

DomainRun::DomainRun(EngineClient* client, QObject* parent) : QObject(parent), client_(client) {
    connect(client_, &EngineClient::routedExperts, this, &DomainRun::onRoutedExperts);
    connect(client_, &EngineClient::finished, this, &DomainRun::onFinished);
    connect(client_, &EngineClient::requestFailed, this, &DomainRun::onFailed);
    connect(client_, &EngineClient::modelsChanged, this, &DomainRun::onModels);
}

bool DomainRun::hasResults() const {
    for (const LayerExpertCounts& c : results_.counts)
        if (c.tokens > 0) return true;
    return false;
}

bool DomainRun::resultsAreStale() const { return hasResults() && results_model_ != loaded_model_; }

void DomainRun::onModels(const QJsonArray& models) {
    const QString id = models.isEmpty() ? QString() : models.first().toObject().value(QStringLiteral("id")).toString();
    if (id == loaded_model_) return;
    loaded_model_ = id;
    if (isRunning() && results_model_.isEmpty()) {
        results_model_ = id;  // the run started before the model list arrived
    } else if (isRunning()) {
        const quint64 request = current_request_;
        current_request_ = 0;
        client_->cancel(request);
        stop(false, tr("Stopped: the model changed to %1 during the run. Press Run to route the domains through it.")
                        .arg(id.isEmpty() ? tr("none") : id));
    }
    emit loadedModelChanged();
}

void DomainRun::start(const QVector<DomainCorpus>& domains, int tokens_per_chunk, int n_experts) {
    cancel();
    results_ = DomainRoutingResults{};
    sources_.clear();
    source_ = 0;
    tokens_per_chunk_ = std::max(1, tokens_per_chunk);
    estimated_total_ = estimated_answered_ = server_tokens_ = 0;
    chunks_done_ = 0;
    results_model_ = loaded_model_;
    for (int d = 0; d < domains.size(); ++d) {
        results_.domains << domains[d].name;
        LayerExpertCounts counts;
        counts.ensureExperts(n_experts);
        results_.counts << counts;
        for (const QString& text : domains[d].texts) {
            Source source{d, splitUnits(text), 0};
            for (int t : source.units.tokens) estimated_total_ += t;
            sources_ << source;
        }
    }
    emit resultsChanged();
    if (estimated_total_ == 0) {
        emit finished(false, tr("Nothing to run: the domains hold no text."));
        return;
    }
    sendNext();
}

void DomainRun::cancel() {
    if (!isRunning()) return;
    const quint64 request = current_request_;
    current_request_ = 0;  // its "cancelled" finished signal is not ours any more
    client_->cancel(request);
    sources_.clear();
    emit finished(false, tr("Cancelled after %1 pieces of text.").arg(chunks_done_));
}

double DomainRun::tokensPerEstimate() const {
    return estimated_answered_ > 0 && server_tokens_ > 0 ? double(server_tokens_) / double(estimated_answered_) : 1.0;
}

qint64 DomainRun::estimatedDone() const {
    qint64 done = 0;
    for (const Source& s : sources_)
        for (int i = 0; i < s.cursor; ++i) done += s.units.tokens[i];
    return done;
}

void DomainRun::sendNext() {
    // Calibrated target: N server tokens ≈ N / (server tokens per estimated token) estimated ones.
    const int target = std::max(1, int(std::lround(tokens_per_chunk_ / tokensPerEstimate())));
    QString chunk;
    while (source_ < sources_.size()) {
        Source& source = sources_[source_];
        const int before = source.cursor;
        chunk = takeChunk(source.units, &source.cursor, target);
        if (!chunk.isEmpty()) {
            current_domain_ = source.domain;
            current_estimate_ = 0;
            for (int i = before; i < source.cursor; ++i) current_estimate_ += source.units.tokens[i];
            break;
        }
        ++source_;
    }
    if (chunk.isEmpty()) {
        const int chunks = chunks_done_;
        current_request_ = 0;
        emit progress(estimated_total_, estimated_total_, QString());
        emit finished(true, tr("Done: %1 pieces of text went through the model.").arg(chunks));
        return;
    }
    current_routed_ = false;
    QJsonObject body;
    body[QStringLiteral("prompt")] = chunk;
    body[QStringLiteral("max_tokens")] = 1;  // only the prompt's routing matters
    body[QStringLiteral("temperature")] = 0;
    body[QStringLiteral("return_routed_experts")] = true;
    current_request_ = client_->startCompletion(body);
    emit chunkSent(current_request_, results_.domains[current_domain_]);
    emit progress(estimatedDone() - current_estimate_, estimated_total_, results_.domains[current_domain_]);
}

void DomainRun::onRoutedExperts(quint64 request_id, const RoutedExperts& routing) {
    if (request_id != current_request_ || request_id == 0) return;
    current_routed_ = true;
    results_.counts[current_domain_].add(routing);
    estimated_answered_ += current_estimate_;
    server_tokens_ += routing.tokens;
    emit resultsChanged();
}

void DomainRun::onFinished(quint64 request_id, const CompletionResult&) {
    if (request_id != current_request_ || request_id == 0) return;
    if (!current_routed_) {
        stop(false, tr("The server answered without saying which experts it used (a model without experts, or a server started "
                       "without routed-expert support); the run stopped."));
        return;
    }
    ++chunks_done_;
    sendNext();
}

void DomainRun::onFailed(quint64 request_id, const QString& message) {
    if (request_id != current_request_ || request_id == 0) return;
    emit failed(message);
    stop(false, tr("Piece %1 of \"%2\" failed: %3")
                    .arg(chunks_done_ + 1)
                    .arg(results_.domains[current_domain_], message));
}

void DomainRun::stop(bool completed, const QString& message) {
    current_request_ = 0;
    sources_.clear();
    emit finished(completed, message);
}

}  // namespace moe::ui
