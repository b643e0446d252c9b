# Build and test capability_exporter. `make build` builds what the Dockerfile
# builds; `make test-all` runs every test tier (.ci/run installs the servers).

GO         ?= go
PROMTOOL   ?= promtool
FUZZTIME   ?= 15s

VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell id -un)@$(shell hostname)
BUILD_DATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)

RULES      := $(filter-out %.test.yml,$(wildcard deploy/rules/*.yml))
RULE_TESTS := $(wildcard deploy/rules/*.test.yml)

IMAGE      ?= capability_exporter:$(VERSION)

.PHONY: all build image test test-e2e test-all fuzz lint check-rules bench mcp-conformance

all: lint test check-rules build

# The same go build line as the Dockerfile's (deploy/image_test.go compares them).
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/prometheus/common/version.Version=$(VERSION) -X github.com/prometheus/common/version.Revision=$(REVISION) -X github.com/prometheus/common/version.Branch=$(BRANCH) -X github.com/prometheus/common/version.BuildUser=$(BUILD_USER) -X github.com/prometheus/common/version.BuildDate=$(BUILD_DATE)" -o ./capability_exporter ./cmd/capability_exporter

# The image of the Dockerfile, with the same version stamps as build; push it
# where your cluster pulls from (the Helm chart's image.*).
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) --build-arg BUILD_USER="$(BUILD_USER)" --build-arg BUILD_DATE=$(BUILD_DATE) -t $(IMAGE) .

test:
	$(GO) test -race ./...

# Real Prometheus, Alertmanager, etcd, kube-apiserver and Chromium; see test/e2e.
# Under the race detector, and so is every exporter binary it launches.
test-e2e:
	$(GO) test -race -tags e2e -count=1 -timeout=40m ./test/e2e/...

# Everything CI runs: the README's test command.
test-all: lint test fuzz check-rules mcp-conformance test-e2e

# The MCP conformance suite (npm, pinned in test/mcp-conformance) against the
# exporter's /mcp; needs Node.js 20 or later.
mcp-conformance:
	bash hack/mcp-conformance.sh

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseLeaf$$' -fuzztime=$(FUZZTIME) ./triggers
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./triggers
	$(GO) test -run='^$$' -fuzz='^FuzzPromQL$$' -fuzztime=$(FUZZTIME) ./scope
	$(GO) test -run='^$$' -fuzz='^FuzzLogQL$$' -fuzztime=$(FUZZTIME) ./scope

# golangci-lint (.golangci.yml, build tags e2e and perf included):
# $GOLANGCI_LINT, else built from tools/golangci-lint once and cached.
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt -l: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/...
	$(GO) vet -tags e2e,perf ./test/e2e/...
	linter=$${GOLANGCI_LINT:-$$(hack/build-golangci-lint.sh)} && $$linter run ./...

# With PROMTOOL3 set (.ci/run builds Prometheus 3), the rules are checked
# and tested by the current major's promtool too.
check-rules:
	$(PROMTOOL) check rules $(RULES)
	$(PROMTOOL) test rules $(RULE_TESTS)
	@if [ -n "$(PROMTOOL3)" ]; then \
		set -ex; $(PROMTOOL3) check rules $(RULES); $(PROMTOOL3) test rules $(RULE_TESTS); \
	fi

# Every performance figure in one run, written to docs/performance.md
# (about 10-15 minutes; needs the e2e tier's servers). The perf tier's
# clusters run on etcd 3.6 built from its Go module (hack/build-etcd.sh, a
# few minutes once, then cached), as a real cluster's do; the e2e tier keeps
# the system's etcd 3.4.
bench:
	etcd=$$(bash hack/build-etcd.sh) && ETCD=$$etcd bash hack/bench.sh
