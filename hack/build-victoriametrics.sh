#!/usr/bin/env bash
# Builds single-node VictoriaMetrics and vmalert from their Go module and
# caches both: the end-to-end tier runs the Prometheus source against
# VictoriaMetrics as another Prometheus-compatible store, alone and with
# vmalert behind its rules API. A cold build takes about a minute on 2
# cores, a cached one is instant. Prints the victoria-metrics binary's path;
# vmalert-<version> is beside it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=${VICTORIAMETRICS_VERSION:-v1.151.0}
bin="$cache/victoria-metrics-$version"
vmalert="$cache/vmalert-$version"
if [ ! -x "$bin" ] || [ ! -x "$vmalert" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/victoria-metrics-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-$version" \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$version" \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/vmalert@$version" >&2
  mv "$tmp/vmalert" "$vmalert"
  mv "$tmp/victoria-metrics" "$bin"
fi
echo "$bin"
