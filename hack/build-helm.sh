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
source "$(dirname "$0")/lib.sh"
version=$(tools_version helm helm.sh/helm/v3)
k8s_minor=$(awk '/k8s.io\/client-go v0\./ {split($2, v, "."); print v[2]; exit}' "$root/tools/helm/go.mod")
bin="$cache/helm-$version"
if [ ! -x "$bin" ]; then
  ldflags="-X helm.sh/helm/v3/internal/version.version=$version"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
  done
  tools_build helm helm.sh/helm/v3/cmd/helm "$ldflags" "$bin"
fi
echo "$bin"
