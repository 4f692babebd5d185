#!/usr/bin/env bash
# Build the real-text training corpora for the demo model (issue #12) from Debian 12 packages.
#
#   tools/demo/build_corpora.sh [--out DIR] [--work DIR] [--allow-newer]
#
# Downloads the pinned packages with `apt-get download` (no root needed; run `apt-get update`
# first on a fresh machine), unpacks them with `dpkg-deb -x`, and runs tools/demo/corpora
# (Python 3 standard library only) to clean and select the text. Writes DIR/<domain>/*.txt,
# DIR/manifest.json (package, version, licence, bytes, sha256 per file) and DIR/provenance/.
# Default DIR: .device-carry/corpora (git-ignored). Running it twice gives the same bytes.
#
# --allow-newer: if a pinned version is no longer in the archive (a security or point
# release replaced it), take the archive's current version and record it in the manifest
# (the sha256s will then differ from resources/corpora/training/manifest.json).
# stdout: "domain<TAB>bytes" lines and a total; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/.device-carry/corpora"
work="${TMPDIR:-/tmp}/moe-corpora-work"
allow_newer=0

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --allow-newer) allow_newer=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build_corpora: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for tool in apt-get dpkg-deb python3 sha256sum; do
  command -v "$tool" >/dev/null || { echo "build_corpora: '$tool' is required (Debian 12)" >&2; exit 1; }
done

mkdir -p "$work/debs" "$work/root"
debs_tsv="$work/debs.tsv"
: > "$debs_tsv.tmp"

# .deb file names encode ':' (epochs) as %3a; match on package name and let dpkg-deb say the version.
find_deb() {  # package [version]
  local f
  for f in "$work/debs/$1"_*.deb; do
    [ -e "$f" ] || continue
    if [ -z "${2:-}" ] || [ "$(dpkg-deb -f "$f" Version)" = "$2" ]; then echo "$f"; return 0; fi
  done
  return 1
}

pins=$(cd "$here" && python3 -m corpora.build --packages)
for pin in $pins; do
  pkg=${pin%%=*}; ver=${pin#*=}
  if ! deb=$(find_deb "$pkg" "$ver"); then
    echo "build_corpora: downloading $pkg=$ver" >&2
    if ! (cd "$work/debs" && apt-get download "$pkg=$ver" >&2); then
      if [ "$allow_newer" = 1 ]; then
        echo "build_corpora: $pkg=$ver is gone from the archive; taking its current version" >&2
        rm -f "$work/debs/$pkg"_*.deb
        (cd "$work/debs" && apt-get download "$pkg" >&2)
      else
        echo "build_corpora: error: $pkg=$ver cannot be downloaded (run 'apt-get update'; if the" \
             "archive has replaced that version, rerun with --allow-newer)" >&2
        exit 1
      fi
    fi
    deb=$(find_deb "$pkg") || { echo "build_corpora: error: no .deb for $pkg in $work/debs" >&2; exit 1; }
  fi
  got=$(dpkg-deb -f "$deb" Version)
  printf '%s\t%s\t%s\n' "$pkg" "$got" "$deb" >> "$debs_tsv.tmp"
  stamp="$work/root/$pkg.extracted"
  if [ ! -e "$stamp" ] || [ "$(cat "$stamp")" != "$(basename "$deb")" ]; then
    rm -rf "${work:?}/root/$pkg" "$stamp"
    mkdir -p "$work/root/$pkg"
    dpkg-deb -x "$deb" "$work/root/$pkg"
    basename "$deb" > "$stamp"
  fi
done
mv "$debs_tsv.tmp" "$debs_tsv"

cd "$here" && PYTHONHASHSEED=0 LC_ALL=C.UTF-8 python3 -m corpora.build --root "$work/root" --debs "$debs_tsv" --out "$out"
