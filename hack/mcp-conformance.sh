#!/usr/bin/env bash
# Runs the MCP conformance suite (npm @modelcontextprotocol/conformance,
# pinned in test/mcp-conformance/package-lock.json, installed with npm ci) in
# server mode against the exporter's /mcp: the exporter binary on the
# quick start's config, on a free loopback port, with no web config (the suite
# sends no credentials). The suite fails on any scenario that fails and is not
# in test/mcp-conformance/expected-failures.yml, and on any listed one that
# passes. Needs Node.js 20 or later with npm.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "mcp-conformance: needs Node.js 20 or later (found ${node_major:-none})" >&2
  exit 1
fi

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/capability_exporter" ./cmd/capability_exporter
(cd test/mcp-conformance && npm ci --no-audit --no-fund --loglevel=error)

# A free port: the exporter is started again on another when it loses the
# race for one.
url=
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 20000))
  "$work/capability_exporter" --config.file="$root/examples/webshop.yml" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/exporter.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready" 2>/dev/null; then
      url="http://127.0.0.1:$port/mcp"
      break 2
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
done
if [ -z "$url" ]; then
  echo "mcp-conformance: the exporter did not become ready" >&2
  cat "$work/exporter.log" >&2
  exit 1
fi

cd test/mcp-conformance
npx --no-install conformance server --url "$url" --expected-failures expected-failures.yml --output-dir "$work/results"
