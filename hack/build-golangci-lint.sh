#!/usr/bin/env bash
# Builds golangci-lint from the module pinned in tools/golangci-lint and
# caches the binary: `make lint` runs it. A cold build takes a few minutes on
# 2 cores, a cached one is instant. Prints the binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '/golangci-lint\/v2 v/ {print $NF; exit}' "$root/tools/golangci-lint/go.mod")
cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}
bin="$cache/golangci-lint-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  (cd "$root/tools/golangci-lint" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X main.version=${version#v}" \
    -o "$bin.tmp" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
