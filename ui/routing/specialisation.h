// Which experts prefer which domain. For a layer, expert e and domain d:
//   p_d(e)   = (hits_d(e) + α) / (Σ_e' hits_d(e') + α·E)   the share of d's routing in this layer that goes to e
//   p̄(e)    = mean over domains of p_d(e)
//   score    = log2(p_d(e) / p̄(e))                          0: average; +1: twice the mean share; −1: half
// α = 0.5 hits (a Jeffreys-style pseudo-count) keeps an expert a domain never used finite (a large
// negative score instead of −∞) without moving experts with real counts noticeably.
#pragma once

#include <QString>
#include <QVector>

#include "domain_run.h"
#include "heatmap_data.h"

namespace moe::ui {

inline constexpr double kSpecialisationPseudoCount = 0.5;

struct SpecialisationMatrix {
    int layer = -1;
    QStringList domains;        // rows
    int n_experts = 0;          // cols
    QVector<double> share;      // [domains, experts] p_d(e)
    QVector<double> score;      // [domains, experts] log2(p_d(e) / p̄(e))

    double scoreAt(int domain, int expert) const { return score[domain * n_experts + expert]; }
    double shareAt(int domain, int expert) const { return share[domain * n_experts + expert]; }
    viz::HeatmapData toHeatmap() const;
};

// Domains with no routing in this layer are left out. Empty when fewer than two domains remain
// (a preference needs something to compare with) or the layer is dense.
SpecialisationMatrix specialisation(const DomainRoutingResults& results, int layer);

struct ExpertPreference {
    int expert = -1;
    double score = 0;
    double share = 0;
};
// The n experts with the highest score for a domain row, best first.
QVector<ExpertPreference> topExperts(const SpecialisationMatrix& matrix, int domain_row, int n);

}  // namespace moe::ui
