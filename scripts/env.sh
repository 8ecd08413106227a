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

# not_run says that a check did not run, in the one form tests/cireport
# collects: "NOT RUN <id>: <reason>", also into $NETLENS_NOT_RUN_LOG when
# scripts/test.sh sets it. The id must be a gap listed in docs/known-gaps.md,
# or scripts/test.sh fails.
not_run() {
  echo "NOT RUN $1: $2"
  if [[ -n ${NETLENS_NOT_RUN_LOG:-} ]]; then
    echo "NOT RUN $1: $2" >>"$NETLENS_NOT_RUN_LOG"
  fi
}

# go_tool_at installs Go command $2 (a package path) at version $3 into
# GOPATH/bin unless the one there was built from that version ($1 is its
# name), so that CI builds each tool once per version.
go_tool_at() {
  local name=$1 pkg=$2 version=$3 bin
  bin="$(go env GOPATH)/bin/$name"
  if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+[^[:space:]]+[[:space:]]+${version}([[:space:]]|$)"; then
    return 0
  fi
  echo "setup: installing $name $version (go install $pkg@$version)"
  go install "$pkg@$version"
}
