#!/usr/bin/env bash
# The plugin validator's security scanners, run on their own because the
# validator itself cannot be installed here (docs/known-gaps.md):
# - govulncheck on the Go code (agent and data source), against the Go
#   vulnerability database built offline from the golang.org/x/vulndb module
#   (the module proxy serves it; vuln.go.dev cannot be reached). A called
#   vulnerability of a required module fails; one of the Go standard library
#   is a warning naming the Go release that fixes it (tests/vulnreport);
# - gosec on the data source backend (pkg/): any HIGH-severity finding of
#   medium or high confidence fails.
# - npm audit on the frontend's production dependencies, where the registry
#   answers it (here it refuses: NOT RUN npm-vulnerability-scan).
# Tools and the database are built once per version and cached.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

GOVULNCHECK_VERSION=v1.9.0
# The database's date is the pseudo-version's; move it forward to see newer reports.
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
GOSEC_VERSION=v2.30.0

go_tool_at govulncheck golang.org/x/vuln/cmd/govulncheck "$GOVULNCHECK_VERSION"
go_tool_at gosec github.com/securego/gosec/v2/cmd/gosec "$GOSEC_VERSION"

db="${XDG_CACHE_HOME:-${HOME:?}/.cache}/netlens/govulndb-$VULNDB_VERSION"
if [[ ! -f $db/index/db.json ]]; then
  go_tool_at indexdb golang.org/x/vulndb/cmd/indexdb "$VULNDB_VERSION"
  src="$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d $src/data/osv ]] || { echo "golang.org/x/vulndb@$VULNDB_VERSION has no data/osv" >&2; exit 1; }
  rm -rf "$db.tmp"
  mkdir -p "$(dirname "$db")"
  indexdb -vulns "$src/data/osv" -out "$db.tmp"
  mv "$db.tmp" "$db"
fi

echo "govulncheck (source, symbol level) on ./agent/... ./pkg/..."
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
govulncheck -db "file://$db" -format json ./agent/... ./pkg/... >"$report"
go run ./tests/vulnreport <"$report"
# The agent and the data source ship for Windows too, with code of their own there.
echo "govulncheck, GOOS=windows"
GOOS=windows govulncheck -db "file://$db" -format json ./agent/... ./pkg/... >"$report"
go run ./tests/vulnreport <"$report"

echo "gosec (severity high) on ./pkg/..."
gosec -quiet -severity high -confidence medium ./pkg/...
echo "gosec: no finding"

# npm audit is tried each run: the day the registry answers, it runs (and the
# known gap must go); a refused endpoint is the known gap, anything else fails.
echo "npm audit (production dependencies, high and critical) of package-lock.json"
audit_status=0
audit="$(npm audit --package-lock-only --omit=dev --audit-level=high 2>&1)" || audit_status=$?
if ((audit_status == 0)); then
  echo "$audit"
elif grep -q "audit endpoint returned an error" <<<"$audit"; then
  refusal="$(grep -Eo '[0-9]{3} [A-Za-z ]+ - [A-Z]+' <<<"$audit" | head -n 1)"
  not_run npm-vulnerability-scan "npm dependencies are not scanned for vulnerabilities: npm audit's endpoint refuses this registry (${refusal:-no answer}) and no offline advisory database can be had here (osv.dev and the GitHub advisory database are unreachable)"
else
  echo "$audit" >&2
  exit 1
fi
