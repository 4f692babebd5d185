#!/usr/bin/env bash
# Regenerates docs/screenshots/: one PNG per dock of moe-workbench (and the whole window), each taken
# once the panel shows real data from the embedded demo model, on a laptop screen and a desktop one.
#
#   tools/screenshots.sh [panel ...]        (default: every dock, finetuneDock.setup, then "window")
#   SIZES="1366x768 1920x1080" (default)    screen sizes; one folder each: docs/screenshots/WxH/
#
# For each size and panel it starts the app under Xvfb (a screen of that size, no window manager:
# the window takes the default geometry for that screen) with --screenshot-panel NAME: the app sends
# one scripted prompt, waits for the reply and fresh telemetry, raises the panel in its docked
# place, grabs it (QWidget::grab) into docs/screenshots/WxH/NAME.png, and stays open a moment while
# this script takes the whole screen with ImageMagick (NAME-screen.png). finetuneDock shows the
# first launch's run: the demo model's own training run (a 30-step run of the model when the
# window was started on another one), and also writes one picture per chart tab
# (finetuneDock-balance.png, ...); finetuneDock.setup shows that run's data report. Settings,
# conversations and runs go to a temporary folder, never to your own, so every run is a first
# launch. Needs: xvfb, imagemagick (Debian packages). BUILD_DIR picks the build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
app=$build/bin/moe-workbench
out_root=$root/docs/screenshots
sizes=(${SIZES:-1366x768 1920x1080})
[[ -x $app ]] || { echo "screenshots.sh: $app is missing; build moe-workbench first (or set BUILD_DIR)" >&2; exit 1; }
for tool in Xvfb import; do
    command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool not found; apt-get install xvfb imagemagick" >&2; exit 1; }
done

scratch=$(mktemp -d)
export XDG_RUNTIME_DIR=$scratch/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
xvfb_pid=
stop_xvfb() { [[ -n $xvfb_pid ]] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null; xvfb_pid=; }
cleanup() { stop_xvfb; rm -rf "$scratch"; }
trap cleanup EXIT

# A display number nobody uses (no socket, no lock file), with a screen of the given size.
start_xvfb() {
    display=99
    while [[ -e /tmp/.X11-unix/X$display || -e /tmp/.X$display-lock ]]; do display=$((display + 1)); done
    Xvfb ":$display" -screen 0 "${1}x24" -nolisten tcp >"$scratch/xvfb.log" 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done
    export DISPLAY=:$display
}

if (($# > 0)); then panels=("$@"); else
    mapfile -t panels < <(XDG_CONFIG_HOME=$scratch/list QT_QPA_PLATFORM=offscreen "$app" --list-panels \
                              --conversation-db "$scratch/list.sqlite")
    # The fine-tune panel twice: idle with the data report of its run, and after the run.
    panels+=(finetuneDock.setup window)
fi
# The fine-tune shots train the demo model on the repository's small training fixtures.
export MOE_SCREENSHOT_TRAIN_DATA=$root/tests/data/train_data

failed=0
for size in "${sizes[@]}"; do
    out=$out_root/$size
    mkdir -p "$out"
    start_xvfb "$size"
    for panel in "${panels[@]}"; do
        png=$out/$panel.png
        rm -f "$png"
        # A fresh settings folder per shot: each one is a first launch with the default layout.
        run=$scratch/$size-$panel
        mkdir -p "$run"
        XDG_CONFIG_HOME=$run/config XDG_DATA_HOME=$run/data \
            "$app" --screenshot-panel "$panel" --screenshot-out "$png" --screenshot-linger-ms 4000 \
            --conversation-db "$run/c.sqlite" >"$run/log" 2>&1 &
        app_pid=$!
        # The app writes the PNG only once the panel has data; then it lingers for the full-screen shot.
        while kill -0 "$app_pid" 2>/dev/null && [[ ! -s $png ]]; do sleep 0.2; done
        if [[ -s $png ]]; then
            sleep 1
            import -window root "$out/$panel-screen.png"
        fi
        if wait "$app_pid" && [[ -s $png ]]; then
            echo "screenshots.sh: $size $panel -> ${png#$root/}, ${out#$root/}/$panel-screen.png"
        else
            echo "screenshots.sh: $size $panel failed:" >&2
            tail -5 "$run/log" >&2
            failed=1
        fi
    done
    stop_xvfb
done
exit $failed
