# Sourced by the scripts: the environment every Netlens build and test uses.
# The Go toolchain on the machine is used as is; go.mod's `go` line must never
# trigger a toolchain download.
export GOTOOLCHAIN=local
export PATH="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:/usr/local/go/bin:/usr/sbin:/sbin:$PATH"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# quietly runs a command, showing its output only if it fails.
quietly() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "failed: $*" >&2
    return 1
  fi
  rm -f "$log"
}
