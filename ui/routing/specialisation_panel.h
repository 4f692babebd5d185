// The specialisation view: per layer, a domain × expert diverging heatmap of
// log2(p_domain(e) / p_mean(e)) (specialisation.h) and the top experts of every domain. Like the
// per-domain view it reads, it says which model the results came from and when that is no longer
// the loaded one (staleText()).
#pragma once

#include <QWidget>

#include "specialisation.h"

class QLabel;
class QSpinBox;
class QTreeWidget;

namespace moe::viz {
class HeatmapWidget;
}

namespace moe::ui {

class SpecialisationPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr int kTopExperts = 5;

    explicit SpecialisationPanel(const DomainRun* run, QWidget* parent = nullptr);

    void setLayer(int layer);
    int layer() const;
    const SpecialisationMatrix& matrix() const { return matrix_; }
    viz::HeatmapWidget* heatmap() const { return heatmap_; }
    QTreeWidget* topList() const { return top_list_; }
    QString staleText() const;  // "" while the results belong to the loaded model

    bool exportCsv(const QString& path, QString* error);      // the heatmap (scores) of this layer
    bool exportTopCsv(const QString& path, QString* error) const;  // domain, rank, expert, score, share
    bool exportPng(const QString& path, QString* error);

private:
    void refresh();
    void refreshStale();

    const DomainRun* run_;
    SpecialisationMatrix matrix_;
    QSpinBox* layer_box_ = nullptr;
    QLabel* note_ = nullptr;
    QLabel* stale_ = nullptr;
    viz::HeatmapWidget* heatmap_ = nullptr;
    QTreeWidget* top_list_ = nullptr;
};

}  // namespace moe::ui
