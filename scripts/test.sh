#!/usr/bin/env bash
# Runs every Netlens check: generated eBPF objects current, Go format/vet,
# frontend typecheck/lint/tests/build, data source backend build, and all Go
# tests, privileged ones included (they fail, not skip, when the machine
# cannot run them). Run as root on Linux.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "eBPF objects are current (go generate ./bpf/...)"
bash scripts/check-bpf.sh

step "Go format and vet"
unformatted=$(gofmt -l Magefile.go agent bpf pkg tests bench dashboards deploy)
if [[ -n $unformatted ]]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi
# node_modules holds a stray Go package (flatted); keep it out of ./...
packages=$(go list ./... | grep -v /node_modules/)
go vet $packages
# The agent and the data source also ship for Windows: everything builds there,
# and the Windows-only code is vetted.
GOOS=windows go build ./...
GOOS=windows go vet ./agent/... ./pkg/...

step "Frontend: typecheck, lint, unit tests, build"
npm run --silent typecheck
npm run --silent lint
npm run --silent test:ci
npm run --silent build

step "Data source backend (mage -v)"
quietly mage -v

step "Grafana plugin validator"
bash scripts/validate-plugin.sh

step "Dashboard linter"
bash scripts/lint-dashboards.sh

step "Go tests (privileged tests required)"
# One package at a time: drop tests compare node-wide kernel counts, which
# another package's lab traffic would disturb.
# -v so that skipped tests and kernel paths NOT EXERCISED show in the log.
log=$(mktemp)
if ! NETLENS_REQUIRE_PRIVILEGED=1 go test -v -p 1 -count=1 $packages >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  echo "Go tests failed." >&2
  exit 1
fi
grep -E '^(ok|FAIL)[[:space:]]|^[[:space:]]*--- SKIP|NOT EXERCISED|SKIPPED, NOT RUN' "$log" || true
rm -f "$log"

echo
echo "All checks passed."
