// Package e2e runs the exporter against real servers.
//
// The servers are Prometheus and promtool, Alertmanager, etcd with
// kube-apiserver, and Chromium. They come from PATH (Debian packages) or
// the env vars test/e2e/README.md lists; each binds to 127.0.0.1 on a free
// port and is stopped by the test that started it. The tests carry the
// build tag e2e: run them with `go test -tags e2e ./test/e2e/...`.
package e2e
