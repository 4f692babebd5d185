#!/usr/bin/env bash
# Regenerates docs/screenshots/: one PNG per dock of moe-workbench (and the whole window), each taken
# once the panel shows real data from the embedded demo model.
#
#   tools/screenshots.sh [panel ...]        (default: every dock the app has, then "window")
#
# For each panel it starts the app under Xvfb with --screenshot-panel NAME: the app sends one
# scripted prompt, waits for the reply and fresh telemetry, grabs the panel (QWidget::grab) into
# docs/screenshots/NAME.png, and stays open a moment while this script takes the whole screen with
# ImageMagick (docs/screenshots/NAME-screen.png). Settings and conversations go to a temporary
# folder, never to your own. Needs: xvfb, imagemagick (Debian packages). BUILD_DIR picks the build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
app=$build/bin/moe-workbench
out=$root/docs/screenshots
[[ -x $app ]] || { echo "screenshots.sh: $app is missing; build moe-workbench first (or set BUILD_DIR)" >&2; exit 1; }
for tool in Xvfb import; do
    command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool not found; apt-get install xvfb imagemagick" >&2; exit 1; }
done
mkdir -p "$out"

scratch=$(mktemp -d)
export XDG_CONFIG_HOME=$scratch/config XDG_DATA_HOME=$scratch/data XDG_RUNTIME_DIR=$scratch/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# A display number nobody uses (no socket, no lock file).
display=99
while [[ -e /tmp/.X11-unix/X$display || -e /tmp/.X$display-lock ]]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1600x1000x24 -nolisten tcp >"$scratch/xvfb.log" 2>&1 &
xvfb_pid=$!
cleanup() { kill "$xvfb_pid" 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT
for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done
export DISPLAY=:$display

if (($# > 0)); then panels=("$@"); else
    mapfile -t panels < <(QT_QPA_PLATFORM=offscreen "$app" --list-panels --conversation-db "$scratch/list.sqlite")
    panels+=(window)
fi

failed=0
for panel in "${panels[@]}"; do
    png=$out/$panel.png
    rm -f "$png"
    "$app" --screenshot-panel "$panel" --screenshot-out "$png" --screenshot-linger-ms 4000 \
        --conversation-db "$scratch/$panel.sqlite" >"$scratch/$panel.log" 2>&1 &
    app_pid=$!
    # The app writes the PNG only once the panel has data; then it lingers for the full-screen shot.
    while kill -0 "$app_pid" 2>/dev/null && [[ ! -s $png ]]; do sleep 0.2; done
    if [[ -s $png ]]; then
        sleep 1
        import -window root "$out/$panel-screen.png"
    fi
    if wait "$app_pid" && [[ -s $png ]]; then
        echo "screenshots.sh: $panel -> ${png#$root/}, ${out#$root/}/$panel-screen.png"
    else
        echo "screenshots.sh: $panel failed:" >&2
        tail -5 "$scratch/$panel.log" >&2
        failed=1
    fi
done
exit $failed
