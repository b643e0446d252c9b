#!/usr/bin/env bash
# Builds golangci-lint from the module pinned in tools/golangci-lint and
# caches the binary: `make lint` runs it. A cold build takes a few minutes on
# 2 cores, a cached one is instant. Prints the binary's path.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$(tools_version golangci-lint github.com/golangci/golangci-lint/v2)
bin="$cache/golangci-lint-$version"
if [ ! -x "$bin" ]; then
  tools_build golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "-X main.version=${version#v}" "$bin"
fi
echo "$bin"
