# Sourced by the hack/build-*.sh scripts: where built servers and tools are
# cached, and how one pinned in a tools/ module is built into that cache.
# A script prints the path of what it built; everything else goes to stderr.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CAPABILITY_EXPORTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capability_exporter}

# tools_version DIR MODULE prints the version tools/DIR/go.mod requires of
# MODULE.
tools_version() {
  awk -v m="$2" '($1 == m || $1 == "require") && $NF ~ /^v/ && ($1 == m || $2 == m) {print $NF; exit}' "$root/tools/$1/go.mod"
}

# tools_build DIR PKG LDFLAGS BIN builds package PKG with the module versions
# tools/DIR pins (its replace directives included, which `go install
# mod@version` refuses) into BIN, written whole or not at all.
tools_build() {
  mkdir -p "$(dirname "$4")"
  (cd "$root/tools/$1" && CGO_ENABLED=0 go build -trimpath -ldflags "$3" -o "$4.tmp" "$2") >&2
  mv "$4.tmp" "$4"
}
