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
unformatted=$(gofmt -l Magefile.go agent bpf pkg tests bench)
if [[ -n $unformatted ]]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
# The agent and the data source also ship for Windows.
GOOS=windows go vet ./agent/... ./pkg/...

step "Frontend: typecheck, lint, unit tests, build"
npm run --silent typecheck
npm run --silent lint
npm run --silent test:ci
npm run --silent build

step "Data source backend (mage -v)"
quietly mage -v

step "Go tests (privileged tests required)"
NETLENS_REQUIRE_PRIVILEGED=1 go test -count=1 ./...

echo
echo "All checks passed."
