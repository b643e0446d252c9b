// Package config reads the exporter's config file: the sources to query, the
// organisation's declared facts, and an optional rules file. Defaults live in
// this package and nowhere else (the default selectors are merged into each
// source section here, once); unknown fields are errors; every error names
// file, line and field (through package yamlpos).
package config
