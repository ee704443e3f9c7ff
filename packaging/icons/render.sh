#!/usr/bin/env bash
# Renders fusebox.svg to the PNG sizes desktop environments look up (the hicolor theme's usual set). The PNGs are
# committed, so packaging needs no SVG renderer; run this again after editing the SVG.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
command -v rsvg-convert >/dev/null 2>&1 \
  || { echo "render.sh: needs rsvg-convert (Debian package librsvg2-bin)." >&2; exit 2; }
for size in 16 24 32 48 64 128 256 512; do
  rsvg-convert --width "$size" --height "$size" fusebox.svg --output "fusebox-$size.png"
done
