#!/usr/bin/env bash
# Installs what building and testing Netlens needs, skipping what is already
# there: Debian packages (as root), Go tools, and node_modules from the lock file.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

# Debian packages: the eBPF toolchain (clang, llvm-strip, libbpf headers), the
# network lab (iproute2, iptables, nftables, ping), ethtool (ground truth for
# the NIC collector), and Prometheus (promtool,
# and the server later suites scrape the agent with), and Chromium with the
# fonts Grafana's theme asks for (the browser tests in tests/browser drive it
# with playwright-core; no browser is downloaded), and etcd and ipset for the
# tests' Kubernetes control plane and the kube-router NetworkPolicy enforcer
# (tests/controlplane; scripts/build-controlplane.sh builds the rest).
APT_PACKAGES=(clang llvm libbpf-dev iproute2 iptables nftables iputils-ping procps ethtool prometheus curl ca-certificates git chromium fonts-inter fonts-dejavu-core etcd-server ipset)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is not installed (Go 1.26 and Node.js 20 are expected on the machine)" >&2; exit 1; }
done

# Go tools, each built from the module proxy once per version into GOBIN
# (scripts/env.sh's go_tool_at): mage builds the data source backend
# (Magefile.go; the version matches go.mod); helm renders and lints the chart
# in deploy/helm/netlens (tests/deploy, scripts/render-manifests.sh; its first
# build takes a few minutes).
go_tool_at mage github.com/magefile/mage v1.17.2
go_tool_at helm helm.sh/helm/v3/cmd/helm v3.22.0

# node_modules is refreshed whenever package-lock.json changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

go mod download
