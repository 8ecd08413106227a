# Sourced by the scripts: the environment every Netlens build and test uses.
# The Go toolchain on the machine is used as is; go.mod's `go` line must never
# trigger a toolchain download.
export GOTOOLCHAIN=local
# Go tools are installed into and run from GOBIN (GOPATH/bin unless GOBIN is set).
GOBIN="$(go env GOBIN 2>/dev/null || true)"
export GOBIN="${GOBIN:-$(go env GOPATH 2>/dev/null || echo "${HOME:?}/go")/bin}"
export PATH="$GOBIN:/usr/local/go/bin:/usr/sbin:/sbin:$PATH"
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
  if [[ ! $1 =~ ^[a-z0-9][a-z0-9.-]*$ || -z ${2:-} ]]; then
    echo "not_run: want a known gap's id (lower case, digits, dots and dashes) and a reason, got: $*" >&2
    return 1
  fi
  echo "NOT RUN $1: $2"
  if [[ -n ${NETLENS_NOT_RUN_LOG:-} ]]; then
    echo "NOT RUN $1: $2" >>"$NETLENS_NOT_RUN_LOG"
  fi
}

# go_tool_at installs Go command $2 (a package path) at version $3 into
# GOBIN unless the one there was built from that version ($1 is its
# name), so that CI builds each tool once per version.
go_tool_at() {
  local name=$1 pkg=$2 version=$3 bin
  bin="$GOBIN/$name"
  if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+[^[:space:]]+[[:space:]]+${version}([[:space:]]|$)"; then
    return 0
  fi
  echo "setup: installing $name $version (go install $pkg@$version)"
  go install "$pkg@$version"
}

# go_install_unless_refused runs `go install $1` (package@version). It
# returns 0 when the tool was installed, 3 when the Go module proxy refused
# the module (its answer is then in GO_INSTALL_REFUSAL), so that the caller
# can say NOT RUN; any other failure (network, disk, a build error) prints
# go's error and returns 1: a known gap excuses the refusal, nothing else.
go_install_unless_refused() {
  local out
  if out=$(go install "$1" 2>&1); then
    return 0
  fi
  if grep -Eq '(403 Forbidden|404 Not Found|410 Gone|no matching versions)' <<<"$out"; then
    GO_INSTALL_REFUSAL=$(grep -Eo '(403 Forbidden|404 Not Found|410 Gone|no matching versions[^"]*)' <<<"$out" | head -n 1)
    return 3
  fi
  echo "$out" >&2
  echo "go install $1 failed, and not because the module proxy refused it" >&2
  return 1
}
