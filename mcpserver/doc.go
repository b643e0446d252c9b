// Package mcpserver is the exporter's Model Context Protocol server: an AI
// agent's way to ask it which platform capabilities have become worthwhile,
// why, and what would change that. It serves streamable HTTP at /mcp on the
// exporter's own listener, behind the same TLS and basic auth as every other
// endpoint, and is stateless: each request stands alone.
//
// Everything it answers is read from the State the scheduler last
// published, through the same report the page and the JSON API render: no
// tool asks a source, writes anything or starts an evaluation. what_if
// decides again on the published snapshot through the what-if service,
// under its concurrency limit, and publishes nothing.
package mcpserver
