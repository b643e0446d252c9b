// Command capability_exporter tells a platform team, from live data, which
// platform capabilities have become worth their complexity. main only wires:
// flags, logging, the web server, reload and the subcommands.
package main
