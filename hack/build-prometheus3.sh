#!/usr/bin/env bash
# Builds Prometheus 3 and its promtool from the github.com/prometheus/prometheus
# Go module and caches both: the end-to-end tier runs the Prometheus source
# against the current major version besides Debian's 2.42. A cold build takes
# about 10 minutes on 2 cores, a cached one is instant. The web UI's assets are
# not in the module, so the binary serves the API without the UI, which is all
# the tests use. Prints the prometheus binary's path; promtool is beside it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=${PROMETHEUS3_VERSION:-v0.316.0}
dir="$cache/prometheus-$version"
if [ ! -x "$dir/prometheus" ] || [ ! -x "$dir/promtool" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/prometheus-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # The module's v0.3MM.P is Prometheus 3.MM.P; --version shows it, as the
  # release's Makefile would set it.
  IFS=. read -r _ minor patch <<<"$version"
  release="3.$((minor - 300)).$patch"
  GOBIN="$tmp" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Revision=$version" \
    "github.com/prometheus/prometheus/cmd/prometheus@$version" \
    "github.com/prometheus/prometheus/cmd/promtool@$version" >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir/prometheus"
