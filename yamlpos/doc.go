// Package yamlpos locates things in YAML files: the line of a field path,
// the field path at a line, and errors that name file, line and field. The
// config and the rules both report their problems through it, so that every
// error the exporter prints about a file reads alike.
//
// yaml's own messages know at most the line; the field comes from walking
// the parsed document.
package yamlpos
