#!/usr/bin/env bash
# Renders the PNG sizes of the icon from its SVG (librsvg2-bin's rsvg-convert). The PNGs are
# committed so that the build does not need librsvg; run this after editing the SVG.
set -euo pipefail
cd "$(dirname "$0")"
for s in 16 24 32 48 64 128 256; do
  rsvg-convert -w "$s" -h "$s" org.camgraph.CamGraph.svg -o "org.camgraph.CamGraph-$s.png"
done
