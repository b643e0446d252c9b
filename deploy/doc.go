// Package deploy holds what runs the exporter in a cluster: the Kubernetes
// manifests (a kustomize base), the Prometheus rules and the image build.
//
// Its tests keep the copies honest: the PrometheusRule is generated from
// the plain rules file, the in-cluster config carries the example's facts,
// and the kustomize output is what a secure deployment of the exporter
// needs.
package deploy
