// A per-domain routing run: every domain's text is cut into chunks of ~N tokens and each chunk is
// sent as its own /v1/completions request (prompt = chunk, max_tokens 1, temperature 0,
// return_routed_experts) — one at a time, so the engine's queue stays free for the chat. The
// returned expert ids are counted per domain, layer and expert; per layer the counts sum to
// (tokens the server routed) × top_k.
//
// The results belong to the model that was loaded when the run started (resultsModel()); when
// another model is loaded the results are kept but marked stale (resultsAreStale()), and a run in
// progress stops rather than mix two models' routing.
//
// Chunks are cut just before they are sent. The first ones are sized by a character estimate
// (estimateTokens); after that by the server's own token counts so far (tokens returned ÷ tokens
// estimated), so "N tokens" holds for whatever tokenizer the model has.
#pragma once

#include <QJsonArray>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include "domain_corpus.h"
#include "engine_client.h"
#include "layer_expert_counts.h"

namespace moe::ui {

// The counts of a run, per domain, in the order the domains were given.
struct DomainRoutingResults {
    QStringList domains;
    QVector<LayerExpertCounts> counts;  // one per domain

    const LayerExpertCounts* find(const QString& domain) const {
        const int i = int(domains.indexOf(domain));
        return i < 0 ? nullptr : &counts[i];
    }
};

class DomainRun : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultTokensPerChunk = 128;

    explicit DomainRun(EngineClient* client, QObject* parent = nullptr);

    // Starts a run over the domains (a running one is cancelled first). n_experts: the model's
    // routed experts if known (columns for experts never hit), else 0.
    void start(const QVector<DomainCorpus>& domains, int tokens_per_chunk = kDefaultTokensPerChunk,
               int n_experts = 0);
    void cancel();
    bool isRunning() const { return current_request_ != 0; }

    const DomainRoutingResults& results() const { return results_; }
    bool hasResults() const;                               // some domain has counted tokens
    QString resultsModel() const { return results_model_; }  // the model the results came from
    QString loadedModel() const { return loaded_model_; }    // the model the engine serves now ("" = none)
    bool resultsAreStale() const;                          // results of a model other than the loaded one
    int chunksDone() const { return chunks_done_; }
    // Server tokens per estimated token so far (1 before the first answer).
    double tokensPerEstimate() const;

signals:
    // Sent with every chunk: how much of the run's text (in estimated tokens) is done, and the
    // domain of the chunk now being routed ("" at the end).
    void progress(qint64 done, qint64 total, const QString& domain);
    void chunkSent(quint64 request_id, const QString& domain);
    void resultsChanged();                                   // counts of some domain grew
    void finished(bool completed, const QString& message);   // completed=false: cancelled or failed
    void failed(const QString& detail);                      // before finished(false): the technical reason
    void loadedModelChanged();                               // resultsAreStale() may have changed

private:
    struct Source {
        int domain = 0;
        TextUnits units;
        int cursor = 0;
    };
    void sendNext();
    void onRoutedExperts(quint64 request_id, const moe::ui::RoutedExperts& routing);
    void onFinished(quint64 request_id, const moe::ui::CompletionResult& result);
    void onFailed(quint64 request_id, const QString& message);
    void stop(bool completed, const QString& message);
    void onModels(const QJsonArray& models);
    qint64 estimatedDone() const;

    EngineClient* client_;
    DomainRoutingResults results_;
    QVector<Source> sources_;   // every text of the run, in order
    int source_ = 0;            // the one being cut
    int tokens_per_chunk_ = kDefaultTokensPerChunk;
    qint64 estimated_total_ = 0;
    qint64 estimated_answered_ = 0;  // estimated tokens of the chunks the server has answered
    qint64 server_tokens_ = 0;       // and the tokens it counted for them
    int current_domain_ = 0;
    int current_estimate_ = 0;
    quint64 current_request_ = 0;
    bool current_routed_ = false;
    int chunks_done_ = 0;
    QString results_model_;
    QString loaded_model_;
};

}  // namespace moe::ui
