#include "models/download_state.h"

namespace moe::ui::models {

namespace {
using S = DownloadState;
using E = DownloadEvent;

std::optional<S> from_running(E event) {
    switch (event) {
        case E::Pause: return S::Pausing;
        case E::Cancel: return S::Cancelling;
        case E::AllBytesReceived: return S::Verifying;
        case E::Finished: return S::Done;
        case E::Error: return S::Failed;
        case E::Exited: return S::Failed;  // ended without "done" or "error": the message says how
        default: return std::nullopt;
    }
}
}  // namespace

std::optional<DownloadState> next_state(DownloadState state, DownloadEvent event) {
    switch (state) {
        case S::Queued:
            if (event == E::Start) return S::Downloading;
            if (event == E::Pause) return S::Paused;
            if (event == E::Cancel) return S::Cancelled;
            return std::nullopt;
        case S::Downloading:
        case S::Verifying:
            if (state == S::Verifying && event == E::AllBytesReceived) return S::Verifying;
            return from_running(event);
        case S::Pausing:
            if (event == E::Exited) return S::Paused;
            if (event == E::Cancel) return S::Cancelling;
            if (event == E::Finished) return S::Done;  // it completed before the signal arrived
            if (event == E::Error) return S::Failed;
            return std::nullopt;
        case S::Cancelling:
            if (event == E::Exited) return S::Cancelled;
            if (event == E::Finished || event == E::Error) return S::Cancelling;  // still wanted gone
            return std::nullopt;
        case S::Paused:
            if (event == E::Resume) return S::Queued;
            if (event == E::Cancel) return S::Cancelled;
            return std::nullopt;
        case S::Failed:
            if (event == E::Retry) return S::Queued;
            if (event == E::Cancel) return S::Cancelled;
            if (event == E::Exited || event == E::Error) return S::Failed;  // the exit that follows the error
            return std::nullopt;
        case S::Cancelled:
            if (event == E::Retry) return S::Queued;
            return std::nullopt;
        case S::Done:
            if (event == E::Exited) return S::Done;
            return std::nullopt;
    }
    return std::nullopt;
}

bool has_process(DownloadState state) {
    return state == S::Downloading || state == S::Verifying || state == S::Pausing || state == S::Cancelling;
}

bool is_active(DownloadState state) { return state != S::Done && state != S::Failed && state != S::Cancelled; }

QString state_name(DownloadState state) {
    switch (state) {
        case S::Queued: return QStringLiteral("queued");
        case S::Downloading: return QStringLiteral("downloading");
        case S::Verifying: return QStringLiteral("verifying");
        case S::Pausing: return QStringLiteral("pausing…");
        case S::Paused: return QStringLiteral("paused");
        case S::Cancelling: return QStringLiteral("cancelling…");
        case S::Cancelled: return QStringLiteral("cancelled");
        case S::Done: return QStringLiteral("done");
        case S::Failed: return QStringLiteral("failed");
    }
    return {};
}

}  // namespace moe::ui::models
