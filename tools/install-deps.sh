#!/usr/bin/env bash
# Installs the Debian 12 packages MoE Workbench needs, only those missing. Idempotent.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  qt6-base-dev libqcustomplot-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcpp-httplib-dev libcurl4-openssl-dev libtomlplusplus-dev libqt6sql6-sqlite
  libgtest-dev clang libclang-rt-14-dev
  xvfb xauth imagemagick
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
