// The fit colouring: green when the model takes at most 85 % of what is free, amber up to 100 %, red
// beyond; and the estimate box recomputing weights + KV for a new context and dtype.
#include <QComboBox>
#include <QLabel>
#include <QtTest>

#include "models/estimate_view.h"
#include "models/memory_estimate.h"

using namespace moe::ui::models;

namespace {

constexpr qint64 kGiB = 1024LL * 1024 * 1024;

// An `estimate` object as `moe-engine hub files --json` writes it (stored dtype = bf16, fp8 = half).
QJsonObject estimate_json(qint64 bf16, qint64 kv_per_token, qint64 gpu_free, qint64 ram_available) {
    const QJsonObject weights{{"stored", bf16}, {"bf16", bf16}, {"fp8", bf16 / 2}};
    return QJsonObject{{"architecture", "DeepseekV3ForCausalLM"},
                       {"params", bf16 / 2},
                       {"weights_bytes", weights},
                       {"kv_bytes_per_token", kv_per_token},
                       {"ctx", 4096},
                       {"kv_bytes", kv_per_token * 4096},
                       {"total_bytes", bf16 + kv_per_token * 4096},
                       {"ram", QJsonObject{{"available_bytes", ram_available}, {"fits", true}}},
                       {"gpu", QJsonObject{{"name", "Test GPU"}, {"free_bytes", gpu_free},
                                           {"total_bytes", gpu_free + kGiB}, {"fits", true}}}};
}

}  // namespace

class MemoryEstimateTest : public QObject {
    Q_OBJECT
private slots:
    void thresholds() {
        QCOMPARE(classify_fit(850, 1000), FitLevel::Fits);  // exactly 85 %
        QCOMPARE(classify_fit(851, 1000), FitLevel::Tight);
        QCOMPARE(classify_fit(1000, 1000), FitLevel::Tight);  // exactly all of it
        QCOMPARE(classify_fit(1001, 1000), FitLevel::DoesNotFit);
        QCOMPARE(classify_fit(1, 0), FitLevel::Unknown);
        QCOMPARE(classify_fit(0, 1000), FitLevel::Unknown);
        // Large byte counts (700 GiB needed, 8 × 141 GiB free) without overflow.
        QCOMPARE(classify_fit(700 * kGiB, 8 * 141 * kGiB), FitLevel::Fits);
        QCOMPARE(classify_fit(1100 * kGiB, 8 * 141 * kGiB), FitLevel::Tight);
    }

    void coloursAreDistinct() {
        QCOMPARE(fit_colour(FitLevel::Fits).name(), QString("#2e7d32"));
        QCOMPARE(fit_colour(FitLevel::Tight).name(), QString("#ef8f00"));
        QCOMPARE(fit_colour(FitLevel::DoesNotFit).name(), QString("#c62828"));
        QVERIFY(fit_colour(FitLevel::Unknown) != fit_colour(FitLevel::Fits));
    }

    void parsesTheEngineObject() {
        QString error;
        const auto e = MemoryEstimate::fromJson(estimate_json(10 * kGiB, 1000, 20 * kGiB, 30 * kGiB), &error);
        QVERIFY2(e.has_value(), qPrintable(error));
        QCOMPARE(e->weightBytes(WeightDtype::BF16), 10 * kGiB);
        QCOMPARE(e->weightBytes(WeightDtype::FP8), 5 * kGiB);
        QCOMPARE(e->kvBytes(32768), 32768LL * 1000);
        QVERIFY(e->has_gpu);
        QCOMPARE(e->gpu_free, 20 * kGiB);
        QCOMPARE(e->ram_available, 30 * kGiB);
    }

    void missingFieldsAreNamed() {
        QString error;
        QVERIFY(!MemoryEstimate::fromJson(QJsonObject{{"params", 5}}, &error));
        QVERIFY2(error.contains("weights_bytes.bf16") && error.contains("kv_bytes_per_token"), qPrintable(error));
    }

    void contextChangeRecolours() {
        // 8 GiB of bf16 weights, 64 KiB of KV per token; 16 GiB free on the GPU, 12 GiB RAM available.
        const qint64 weights = 8 * kGiB, per_token = 64 * 1024;
        EstimateView view;
        view.setDtype(WeightDtype::BF16);
        view.setEstimate(MemoryEstimate::fromJson(estimate_json(weights, per_token, 16 * kGiB, 12 * kGiB)));

        view.setContext(4096);  // 8 GiB + 0.25 GiB: 52 % of the GPU, 69 % of RAM
        QCOMPARE(view.totalBytes(), weights + per_token * 4096);
        QCOMPARE(view.gpuFit(), FitLevel::Fits);
        QCOMPARE(view.ramFit(), FitLevel::Fits);

        view.setContext(32768);  // 8 GiB + 2 GiB = 10 GiB: 62.5 % of the GPU, 83 % of RAM
        QCOMPARE(view.totalBytes(), weights + per_token * 32768);
        QCOMPARE(view.gpuFit(), FitLevel::Fits);
        QCOMPARE(view.ramFit(), FitLevel::Fits);

        view.setContext(65536);  // 8 GiB + 4 GiB = 12 GiB: 75 % of the GPU, 100 % of RAM
        QCOMPARE(view.gpuFit(), FitLevel::Fits);
        QCOMPARE(view.ramFit(), FitLevel::Tight);

        view.setContext(131072);  // 8 GiB + 8 GiB = 16 GiB: all of the GPU, more than the RAM
        QCOMPARE(view.totalBytes(), 16 * kGiB);
        QCOMPARE(view.gpuFit(), FitLevel::Tight);
        QCOMPARE(view.ramFit(), FitLevel::DoesNotFit);
        QVERIFY2(view.gpuText().contains("Test GPU") && view.gpuText().contains("16.0 GiB free"), qPrintable(view.gpuText()));
        QVERIFY2(view.ramText().startsWith("does not fit"), qPrintable(view.ramText()));

        view.setDtype(WeightDtype::FP8);  // 4 GiB + 8 GiB = 12 GiB
        QCOMPARE(view.totalBytes(), 12 * kGiB);
        QCOMPARE(view.gpuFit(), FitLevel::Fits);
        QCOMPARE(view.ramFit(), FitLevel::Tight);
    }

    void labelsCarryTheColour() {
        EstimateView view;
        view.setDtype(WeightDtype::BF16);
        view.setEstimate(MemoryEstimate::fromJson(estimate_json(10 * kGiB, 1, 4 * kGiB, 100 * kGiB)));
        bool saw_red = false, saw_green = false;
        for (QLabel* label : view.findChildren<QLabel*>()) {
            saw_red |= label->styleSheet().contains(fit_colour(FitLevel::DoesNotFit).name());
            saw_green |= label->styleSheet().contains(fit_colour(FitLevel::Fits).name());
        }
        QVERIFY(saw_red);    // GPU: 10 GiB on 4 GiB free
        QVERIFY(saw_green);  // RAM: 10 GiB of 100 GiB
    }
};

int run_memory_estimate_tests(int argc, char** argv) {
    MemoryEstimateTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "memory_estimate_test.moc"
