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

# optional_go_tool prints the path of an optional checker: $1 (a path from the
# environment) if set, else command $2 from PATH, else $2 installed with
# `go install $3@latest`. It prints nothing when none can be had (the module
# proxy of the development machines refuses some of them).
optional_go_tool() {
  local given=$1 name=$2 module=$3
  if [[ -n $given ]]; then
    echo "$given"
  elif command -v "$name"; then
    :
  elif go install "$module@latest" 2>/dev/null; then
    echo "$(go env GOPATH)/bin/$name"
  fi
}
