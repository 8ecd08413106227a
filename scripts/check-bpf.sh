#!/usr/bin/env bash
# Regenerates the eBPF objects and Go bindings with bpf2go and fails if they
# differ from the files in the tree: committed objects must match their C source
# and this machine's clang. After a failure the tree holds the fresh files.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

snapshot() { find bpf -type f \( -name '*_bpfel.go' -o -name '*_bpfel.o' -o -name '*_bpfeb.go' -o -name '*_bpfeb.o' \) -print0 | sort -z | xargs -0 -r sha256sum; }
before=$(snapshot)
go generate ./bpf/...
after=$(snapshot)
if [[ "$before" != "$after" ]]; then
  echo "eBPF objects were stale; regenerated with $(clang --version | head -1):" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  echo "Commit the regenerated files under bpf/." >&2
  exit 1
fi
echo "eBPF objects match their sources ($(clang --version | head -1))."
