// Package helm holds the exporter's Helm chart
// (deploy/helm/capability-exporter).
//
// Its tests need no helm binary: they check that the chart reads deploy/'s
// alert rules and RBAC, and that its default values are the kustomize
// base's secure pod. The e2e tier renders the chart with helm and dry-runs
// it on a real kube-apiserver.
package helm
