#!/usr/bin/env bash
# Builds etcd from the go.etcd.io/etcd/server/v3 Go module pinned in
# tools/etcd and caches the binary: a cold build takes a few minutes on 2
# cores, a cached one is instant. Prints the binary's path.
#
# The perf tier runs its kube-apiservers on it (make bench), as a real
# cluster's etcd: 3.6 sends the progress notifications Kubernetes needs to
# serve consistent lists from its watch cache. The e2e tier keeps the
# system's etcd (Debian's 3.4), the oldest path still seen.
#
# The server module's go.mod has replace directives, so
# `go install go.etcd.io/etcd/server/v3@version` fails; it is built through
# the tools module, as hack/build-kube-apiserver.sh builds kube-apiserver.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '/go.etcd.io\/etcd\/server\/v3 v/ {print $NF; exit}' "$root/tools/etcd/go.mod")
cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}
bin="$cache/etcd-$version"
# The version is the module's own (go.etcd.io/etcd/api/v3/version); a cached
# binary that reports another is rebuilt.
if [ ! -x "$bin" ] || [ "v$("$bin" --version 2>/dev/null | awk '/^etcd Version:/ {print $NF}')" != "$version" ]; then
  mkdir -p "$cache"
  ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=$version"
  (cd "$root/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
