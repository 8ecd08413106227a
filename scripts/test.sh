#!/usr/bin/env bash
# Runs every Netlens check: generated eBPF objects current, Go format/vet,
# frontend typecheck/lint/tests/build, data source backend build, the plugin
# validator and its scanners, the dashboard linter, and all Go tests,
# privileged ones included (they fail, not skip, when the machine cannot run
# them). Run as root on Linux.
#
# Nothing passes silently: a check that does not run prints "NOT RUN <id>:
# <reason>", and the run fails unless docs/known-gaps.md lists exactly those
# ids (tests/cireport); any other skipped test fails it too. The log ends
# with the list of what did not run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh

# Each step says when it starts, in seconds since the run began, so that a
# log shows where the time goes.
step() { printf '\n==> [%ds] %s\n' "$SECONDS" "$*"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# not_run (scripts/env.sh) appends here too, for tests/cireport.
export NETLENS_NOT_RUN_LOG="$work/not-run.log"
: >"$NETLENS_NOT_RUN_LOG"

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
npm run --silent test:ci -- --json --outputFile="$work/jest.json"
npm run --silent build

step "Data source backend (mage -v)"
quietly mage -v

step "Agent image binaries (deploy/docker/build-agent.sh, every image platform)"
# Built here, not inside TestImageBuildCommand: cross-building three agents
# takes minutes on a busy machine, which is no test's business.
export NETLENS_IMAGE_BINARIES="$work/images"
for platform in linux/amd64 linux/arm64 windows/amd64; do
  out="$NETLENS_IMAGE_BINARIES/${platform/\//_}/netlens-agent"
  GOOS=${platform%/*} GOARCH=${platform#*/} VERSION=9.9.9-test quietly sh deploy/docker/build-agent.sh "$out"
  echo "built $out"
done

step "Grafana plugin validator"
bash scripts/validate-plugin.sh

step "The validator's scanners: govulncheck and gosec"
bash scripts/scan-dependencies.sh

step "Dashboard linter"
bash scripts/lint-dashboards.sh

step "Kubernetes control plane and NetworkPolicy enforcer for the tests (scripts/build-controlplane.sh, cached)"
NETLENS_CONTROLPLANE_BIN=$(bash scripts/build-controlplane.sh)
export NETLENS_CONTROLPLANE_BIN

step "Go tests (privileged tests required)"
# One package at a time: drop tests compare node-wide kernel counts, which
# another package's lab traffic would disturb. -json so that tests/cireport
# can tell skipped tests and NOT RUN lines apart; the timeout bounds a hung
# test, not a slow machine.
go_status=0
NETLENS_REQUIRE_PRIVILEGED=1 go test -json -p 1 -count=1 -timeout 60m $packages >"$work/go-test.json" 2>&1 || go_status=$?

step "Result"
go run ./tests/cireport -known docs/known-gaps.md -gotest "$work/go-test.json" -gotest-status "$go_status" \
  -jest "$work/jest.json" -log "$NETLENS_NOT_RUN_LOG"
