//go:build tools

// Package tools records the etcd server command as a dependency of this
// module so that `go build go.etcd.io/etcd/server/v3` resolves: its own
// go.mod has replace directives, so `go install` of it at a version fails.
package tools

import _ "go.etcd.io/etcd/server/v3"
