#include "server/model_job.h"

#include "server/server_stats.h"
#include "server/speculative_telemetry.h"

namespace moe::server {

void ModelJob::abandon(const ApiError& why) {
    ModelEvent ev;
    ev.kind = ModelEvent::Kind::Error;
    ev.error = why;
    events_.push(std::move(ev));
    events_.close();
}

void ModelJob::load(WorkerContext& ctx) {
    auto progress = [this](const std::string& stage, const std::string& message, const Json& detail) {
        ModelEvent ev;
        ev.stage = stage;
        ev.message = message;
        ev.detail = detail;
        events_.push(std::move(ev));
    };
    ctx.models.load(options_, progress);
    ModelEvent done;
    done.kind = ModelEvent::Kind::Loaded;
    done.model = ctx.models.info();
    ctx.stats.set_kv_capacity(done.model ? done.model->kv_capacity_tokens() : 0);
    ctx.speculative.reset(done.model ? done.model->mtp_modules : 0);
    events_.push(std::move(done));
}

void ModelJob::run(WorkerContext& ctx) {
    try {
        if (action_ == Action::Load) {
            load(ctx);
        } else {
            ModelEvent done;
            done.kind = ModelEvent::Kind::Unloaded;
            done.model = ctx.models.unload();
            ctx.stats.set_kv_capacity(0);
            ctx.speculative.reset(0);
            events_.push(std::move(done));
        }
    } catch (...) {
        ctx.stats.set_kv_capacity(0);  // a failed load leaves no model behind
        ctx.speculative.reset(0);
        ModelEvent ev;
        ev.kind = ModelEvent::Kind::Error;
        ev.error = current_exception_error(std::current_exception());
        events_.push(std::move(ev));
    }
    events_.close();
}

}  // namespace moe::server
