// A Fine-tune panel as the window makes it, for the tests against a real engine: shown, the engine
// asked for its model, and back once the panel has listed the engine's runs.
#pragma once

#include <QSignalSpy>
#include <QtTest>

#include <memory>

#include "engine_client.h"
#include "finetune_panel.h"

namespace moe::ui::test {

inline std::unique_ptr<finetune::FinetunePanel> open_finetune_panel(EngineClient& client) {
    auto panel = std::make_unique<finetune::FinetunePanel>(&client);
    panel->resize(1000, 800);
    panel->show();
    QSignalSpy listed(panel.get(), &finetune::FinetunePanel::runsListed);
    client.refreshModels();
    [&] { QVERIFY(listed.wait(10'000)); }();
    return panel;
}

}  // namespace moe::ui::test
