#!/usr/bin/env bash
# Builds single-node VictoriaMetrics from its Go module and caches the binary:
# the end-to-end tier runs the Prometheus source against it as a second
# Prometheus-compatible store. A cold build takes about a minute on 2 cores, a
# cached one is instant. Prints the binary's path.
set -euo pipefail
version=${VICTORIAMETRICS_VERSION:-v1.151.0}
cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}
bin="$cache/victoria-metrics-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/victoria-metrics-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-$version" \
    "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@$version" >&2
  mv "$tmp/victoria-metrics" "$bin"
fi
echo "$bin"
