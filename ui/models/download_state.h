// The life of one repository download in the queue, as a pure transition function (tested on its
// own, tests/ui_models). Pausing and Cancelling are the moments between SIGTERM and the child's exit:
// a download is only restarted once its previous process is gone (one writer per file).
//
//   Queued ──Start──▶ Downloading ──AllBytesReceived──▶ Verifying ──Finished──▶ Done
//     │  ▲                │   │                            │
//     │  └─Resume─ Paused ◀─Exited─ Pausing ◀──Pause───────┘ (and from Downloading)
//     │                   Error/unexpected Exited ──▶ Failed ──Retry──▶ Queued
//     └─Cancel (any live state) ──▶ Cancelling ──Exited──▶ Cancelled ──Retry──▶ Queued
#pragma once

#include <QString>

#include <optional>

namespace moe::ui::models {

enum class DownloadState { Queued, Downloading, Verifying, Pausing, Paused, Cancelling, Cancelled, Done, Failed };

enum class DownloadEvent {
    Start,             // the scheduler gave it a slot (a process is started)
    Pause,             // user
    Resume,            // user
    Cancel,            // user
    Retry,             // user
    AllBytesReceived,  // overall_bytes reached overall_total: hashes are being checked
    Finished,          // {"event":"done"}
    Error,             // {"event":"error"}
    Exited,            // the process ended (after done/error/stopped, or unexpectedly)
};

// The next state, or nullopt when the event is not allowed in this state (the button is disabled).
std::optional<DownloadState> next_state(DownloadState state, DownloadEvent event);

bool has_process(DownloadState state);  // a child process may be alive in this state
bool is_active(DownloadState state);    // not Done / Failed / Cancelled
QString state_name(DownloadState state);

}  // namespace moe::ui::models
