#!/usr/bin/env bash
# Lints every dashboard with grafana/dashboard-linter in strict mode (errors
# and warnings fail). Each flavour's directory may hold a .lint file with the
# rules it excludes and why. DASHBOARD_LINTER names the binary; without it,
# dashboard-linter from PATH or `go install`. Where none can be had it says
# NOT RUN dashboard-linter (a known gap: the Go module proxy of the development
# machines refuses the linter; tests/dashboards re-implements its rules, see
# docs/dashboards.md and docs/known-gaps.md).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

linter=${DASHBOARD_LINTER:-$(command -v dashboard-linter || true)}
if [[ -z $linter ]]; then
  status=0
  go_install_unless_refused github.com/grafana/dashboard-linter@latest || status=$?
  case $status in
  0) linter="$GOBIN/dashboard-linter" ;;
  3)
    not_run dashboard-linter "dashboard-linter cannot be installed here: the Go module proxy refuses github.com/grafana/dashboard-linter ($GO_INSTALL_REFUSAL); tests/dashboards checks its rules instead"
    exit 0
    ;;
  *) exit 1 ;;
  esac
fi
for f in dashboards/*.json dashboards/*/*.json; do
  "$linter" lint --strict "$f" >/dev/null 2>&1 || { "$linter" lint --strict "$f"; exit 1; }
  echo "dashboard-linter: $f clean"
done
