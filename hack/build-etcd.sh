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
source "$(dirname "$0")/lib.sh"
version=$(tools_version etcd go.etcd.io/etcd/server/v3)
bin="$cache/etcd-$version"
# The version is the module's own (go.etcd.io/etcd/api/v3/version); a cached
# binary that reports another is rebuilt.
if [ ! -x "$bin" ] || [ "v$("$bin" --version 2>/dev/null | awk '/^etcd Version:/ {print $NF}')" != "$version" ]; then
  tools_build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=$version" "$bin"
fi
echo "$bin"
