#include "specialisation.h"

#include <algorithm>
#include <cmath>

namespace moe::ui {

SpecialisationMatrix specialisation(const DomainRoutingResults& results, int layer) {
    SpecialisationMatrix m;
    m.layer = layer;
    QVector<const LayerExpertCounts*> used;
    for (int d = 0; d < results.domains.size(); ++d) {
        const LayerExpertCounts& c = results.counts[d];
        if (layer < 0 || layer >= c.layers || !c.isMoeLayer(layer) || c.layerSum(layer) == 0) continue;
        used << &c;
        m.domains << results.domains[d];
        m.n_experts = std::max(m.n_experts, c.n_experts);
    }
    if (used.size() < 2) return SpecialisationMatrix{layer, {}, 0, {}, {}};
    const int rows = int(used.size());
    const int experts = m.n_experts;
    m.share = QVector<double>(rows * experts, 0.0);
    for (int d = 0; d < rows; ++d) {
        const LayerExpertCounts& c = *used[d];
        const double total = double(c.layerSum(layer)) + kSpecialisationPseudoCount * experts;
        for (int e = 0; e < experts; ++e) {
            const double hits = e < c.n_experts ? double(c.at(layer, e)) : 0.0;
            m.share[d * experts + e] = (hits + kSpecialisationPseudoCount) / total;
        }
    }
    m.score = QVector<double>(rows * experts, 0.0);
    for (int e = 0; e < experts; ++e) {
        double mean = 0;
        for (int d = 0; d < rows; ++d) mean += m.share[d * experts + e];
        mean /= rows;
        for (int d = 0; d < rows; ++d) m.score[d * experts + e] = std::log2(m.share[d * experts + e] / mean);
    }
    return m;
}

viz::HeatmapData SpecialisationMatrix::toHeatmap() const {
    viz::HeatmapData data = viz::HeatmapData::filled(int(domains.size()), n_experts);
    data.values = score;
    data.row_labels = domains;
    data.row_title = QStringLiteral("domain");
    data.col_title = QStringLiteral("expert");
    data.value_title = QStringLiteral("preference (+1 = twice the average)");
    return data;
}

QVector<ExpertPreference> topExperts(const SpecialisationMatrix& matrix, int domain_row, int n) {
    QVector<ExpertPreference> all;
    for (int e = 0; e < matrix.n_experts; ++e)
        all << ExpertPreference{e, matrix.scoreAt(domain_row, e), matrix.shareAt(domain_row, e)};
    std::stable_sort(all.begin(), all.end(),
                     [](const ExpertPreference& a, const ExpertPreference& b) { return a.score > b.score; });
    all.resize(std::min<int>(n, all.size()));
    return all;
}

}  // namespace moe::ui
