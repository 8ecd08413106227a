#!/usr/bin/env bash
# Builds Netlens (agent, data source backend, frontend) and runs the agent on
# this host until Ctrl-C, printing where its endpoints are.
# NETLENS_LISTEN_ADDRESS overrides the agent's address (default :10095).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh

echo "==> building the agent (bin/netlens-agent)"
mkdir -p bin
go build -o bin/netlens-agent ./agent/cmd/netlens-agent
echo "==> building the data source backend (dist/datasource)"
quietly mage -v
echo "==> building the frontend (dist/)"
quietly npm run --silent build

addr="${NETLENS_LISTEN_ADDRESS:-:10095}"
port="${addr##*:}"
host="${addr%:*}"; host="${host:-localhost}"
echo "==> starting netlens-agent on ${addr}"
# No pinning or saved state for a local run: Ctrl-C leaves nothing attached.
bin/netlens-agent --listen-address "$addr" --log-format text --bpffs-path "" --state-dir "" &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null; wait "$agent" 2>/dev/null; exit 0' INT TERM

for _ in $(seq 50); do
  curl -fsS "http://${host}:${port}/readyz" >/dev/null 2>&1 && break
  kill -0 "$agent" 2>/dev/null || { wait "$agent"; exit 1; }
  sleep 0.2
done
cat <<MSG

Netlens agent is running (pid ${agent}):
  metrics    http://${host}:${port}/metrics
  health     http://${host}:${port}/healthz  http://${host}:${port}/readyz
  status     http://${host}:${port}/api/v1/status
Grafana plugin built in dist/ (app netlens-network-app with data source netlens-network-datasource).
Press Ctrl-C to stop.
MSG
wait "$agent"
