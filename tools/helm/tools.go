//go:build tools

// Package tools pins the Helm the chart in deploy/helm is rendered with in
// the end-to-end tier: hack/build-helm.sh builds helm.sh/helm/v3/cmd/helm
// from this module and caches the binary.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
