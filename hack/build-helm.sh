#!/usr/bin/env bash
# Builds helm from the helm.sh/helm/v3 Go module pinned in tools/helm and
# caches the binary: the end-to-end tier renders deploy/helm with it. A cold
# build takes about 3 minutes on 2 cores, a cached one is instant. Prints the
# binary's path.
#
# The ldflags are those of Helm's own Makefile: its version, and the
# Kubernetes version `helm template` assumes (from the client-go it builds
# with; without it, v1.20, which charts requiring a newer one refuse).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(awk '/helm.sh\/helm\/v3 v/ {print $NF; exit}' "$root/tools/helm/go.mod")
k8s_minor=$(awk '/k8s.io\/client-go v0\./ {split($2, v, "."); print v[2]; exit}' "$root/tools/helm/go.mod")
cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}
bin="$cache/helm-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  ldflags="-X helm.sh/helm/v3/internal/version.version=$version"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
  done
  (cd "$root/tools/helm" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
