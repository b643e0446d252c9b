#!/usr/bin/env bash
# What `make bench` runs: every performance measurement of the exporter in one
# run, then docs/performance.md written from that run's figures alone.
#
#   1. the Go benchmarks of the hot paths (rule evaluation, the scrape, the
#      Kubernetes transforms and measures);
#   2. the perf tier of test/e2e (build tags e2e and perf): the exporter
#      binary under 50 concurrent scrapers, on a kube-apiserver holding a
#      large synthetic cluster (beside kube-state-metrics when it builds),
#      and on Prometheus holding the webshop's 35-day history; then a fleet:
#      one Prometheus holding 20 clusters' 35-day histories, three
#      kube-apiservers and an exporter scoped to its cluster on each, with
#      the fleet dashboard's queries and the load each exporter puts on the
#      shared store.
#
# Needs what the e2e tier needs (kube-apiserver via
# hack/build-kube-apiserver.sh, prometheus and promtool), and etcd 3.6 as a
# real cluster runs it (hack/build-etcd.sh; $ETCD overrides). About 10-15
# minutes on 2 cores.
#
# Where a target has a peer, the peer is measured in the same run on the same
# machine and the verdict is a ratio: a scrape against the same bytes served
# from memory, the first answer against kube-state-metrics on the same API
# server, an evaluation against its slowest query. Each test writes its
# targets' rows (sections/*.targets) with the limit as this run measured it;
# the targets table is their rows in the sections' order.
#
# docs/performance.md is replaced only when every step passed;
# otherwise the partial document stays in the work directory it prints.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
began=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/capability-exporter-bench.XXXXXX")
mkdir -p "$work/sections"
echo "bench: work directory $work" >&2

# etcd fsyncs every write; on tmpfs populating the cluster takes a fraction
# of the time and nothing measured depends on the disk.
if [ -z "${BENCH_TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  BENCH_TMPDIR=$(mktemp -d /dev/shm/capability-exporter-bench.XXXXXX)
  trap 'rm -rf "$BENCH_TMPDIR"' EXIT
fi
export TMPDIR=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}

cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}
mkdir -p "$cache"

# kube-apiserver and etcd 3.6, built once and cached (about 8 minutes and a
# few minutes cold).
KUBE_APISERVER=${KUBE_APISERVER:-$(bash hack/build-kube-apiserver.sh)}
export KUBE_APISERVER
ETCD=${ETCD:-$(bash hack/build-etcd.sh)}
export ETCD

# kube-state-metrics from the Go module proxy, for the side-by-side figures.
# `go install mod@version` also asks the proxy for the module's version list
# (to print deprecations); where that list is refused, the same version is
# built from the module the proxy did serve.
ksm_version=${KUBE_STATE_METRICS_VERSION:-v2.13.0}
ksm="$cache/kube-state-metrics-$ksm_version"
if [ -z "${KUBE_STATE_METRICS:-}" ]; then
  if [ ! -x "$ksm" ]; then
    echo "bench: building kube-state-metrics $ksm_version" >&2
    if ! GOBIN="$work/ksm-bin" CGO_ENABLED=0 go install "k8s.io/kube-state-metrics/v2@$ksm_version" >"$work/ksm-build.log" 2>&1; then
      dir=$(go mod download -json "k8s.io/kube-state-metrics/v2@$ksm_version" 2>>"$work/ksm-build.log" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
      if [ -n "$dir" ]; then
        cp -r "$dir" "$work/ksm-src" && chmod -R u+w "$work/ksm-src"
        (cd "$work/ksm-src" && CGO_ENABLED=0 go build -trimpath -o "$work/ksm-bin/kube-state-metrics" .) >>"$work/ksm-build.log" 2>&1 || true
      fi
    fi
    if [ -x "$work/ksm-bin/kube-state-metrics" ]; then
      mv "$work/ksm-bin/kube-state-metrics" "$ksm"
    fi
  fi
  if [ -x "$ksm" ]; then
    export KUBE_STATE_METRICS="$ksm"
  else
    reason=$(grep -v '^go: downloading' "$work/ksm-build.log" | tail -n 3 | tr '\n' ' ' | sed 's/[[:space:]]*$//')
    export KUBE_STATE_METRICS_UNAVAILABLE="building k8s.io/kube-state-metrics/v2@$ksm_version from the Go module proxy failed: ${reason:-no output}"
  fi
fi
export KUBE_STATE_METRICS_VERSION="$ksm_version"

status=0

echo "bench: Go benchmarks" >&2
if ! go test -run '^$' -bench . -benchmem -count=1 ./triggers ./collector/... ./report >"$work/gobench.txt" 2>&1; then
  echo "bench: Go benchmarks failed:" >&2
  cat "$work/gobench.txt" >&2
  status=1
fi

echo "bench: perf tier of test/e2e" >&2
if ! CAPABILITY_EXPORTER_PERF_DIR="$work/sections" go test -tags e2e,perf -run '^TestPerf' -count=1 -timeout 30m -v \
  ./test/e2e/ >"$work/perf.log" 2>&1; then
  echo "bench: perf tier failed; the tail of its log:" >&2
  tail -n 60 "$work/perf.log" >&2
  status=1
fi

cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | sed -n 1p)
mem_total=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
etcd_version=$("${ETCD:-etcd}" --version 2>/dev/null | sed -n 's/^etcd Version: //p' | sed -n 1p)
prom_version=$(prometheus --version 2>&1 | sed -n 1p | sed 's/^prometheus, //')
elapsed=$(( $(date +%s) - began ))

doc="$work/performance.md"
{
  echo "# Performance"
  echo
  echo "<!-- Generated by hack/bench.sh (\`make bench\`) from one run; do not edit. -->"
  echo
  echo "What the exporter costs, measured in one run of \`make bench\` on $(date -u +%Y-%m-%d) at revision \`$(git describe --always --dirty 2>/dev/null || echo unknown)\`. Every figure below comes from that run."
  echo
  echo "## Machine"
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| CPU | $(nproc) cores, $cpu_model |"
  echo "| memory | $mem_total |"
  echo "| kernel | $(uname -sr) |"
  echo "| Go | $(go env GOVERSION) |"
  echo "| servers | kube-apiserver $(basename "$KUBE_APISERVER" | sed 's/^kube-apiserver-//'), etcd ${etcd_version:-?}, Prometheus ${prom_version:-?} |"
  echo "| the whole run | $((elapsed / 60)) min $((elapsed % 60)) s |"
  echo
  echo "The servers, the exporter and the load generators share the same cores, as they would not in production: latencies under load include waiting for a core."
  echo
  echo "## Reproduce"
  echo
  echo '```sh'
  echo "apt-get install prometheus   # Prometheus and promtool"
  echo "make bench                   # hack/bench.sh; builds kube-apiserver and etcd 3.6 once (about 8 min and a few) if not cached"
  echo '```'
  echo
  echo "The perf tests alone: \`go test -tags e2e,perf -run '^TestPerf' -v ./test/e2e/\` (they print their sections); \`go test -tags e2e\` does not run them."
  echo
  echo "## Targets"
  echo
  echo "Where a target has a peer, the limit was measured in this same run, on the same machine under the same load, and the verdict is a ratio: \`/metrics\` against a static handler serving the same bytes from memory, the first answer against kube-state-metrics on the same API server, an evaluation against its slowest query. The other limits are fixed."
  echo
  echo "| target | limit | measured | verdict |"
  echo "| --- | --- | --- | --- |"
  cat "$work"/sections/*.targets 2>/dev/null || true
  echo
  for f in "$work"/sections/*.md; do
    [ -e "$f" ] || continue
    cat "$f"
  done
  echo "## Go benchmarks"
  echo
  echo "\`go test -run '^\$' -bench . -benchmem ./triggers ./collector/... ./report\`:"
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|pkg|cpu)' "$work/gobench.txt" || true
  echo '```'
} >"$doc"

if [ "$status" -ne 0 ]; then
  echo "bench: failed after ${elapsed}s; docs/performance.md left as it was, this run's is $doc" >&2
  exit 1
fi
cp "$doc" docs/performance.md
echo "bench: wrote docs/performance.md in ${elapsed}s" >&2
