// Package triggers is the decision engine: the rules schema (signals,
// tools, foundation components, capabilities), the condition language, and
// Evaluate, which turns a Snapshot of signal values into one Decision per
// capability. It is pure: no network, no Prometheus client, so it is
// tested with plain values.
package triggers
