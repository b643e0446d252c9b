// Package kubernetes answers the kubernetes measures and the tool detections
// from shared informers on the Kubernetes API.
package kubernetes
