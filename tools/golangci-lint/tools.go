//go:build tools

// Package tools pins golangci-lint, which `make lint` runs; hack/build-golangci-lint.sh
// builds it from this module and caches the binary.
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
