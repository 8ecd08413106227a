#!/usr/bin/env bash
# Builds the tests' Kubernetes control plane and NetworkPolicy enforcer once
# per version, outside the repository, and prints the directory that holds
# them:
#   kube-apiserver, kubectl  k8s.io/kubernetes $KUBERNETES_VERSION, through the
#                            build-only module tests/controlplane/build
#                            (~20 CPU-minutes and 2.8 GB the first time)
#   kube-router              github.com/cloudnativelabs/kube-router/v2
#                            $KUBE_ROUTER_VERSION, only its firewall is run
#                            (a test component: never shipped, lab traffic only)
# etcd comes from Debian's etcd-server (scripts/setup.sh).
# tests/controlplane finds the directory through NETLENS_CONTROLPLANE_BIN.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

# The version client-go in go.mod speaks: k8s.io/client-go v0.37.x <-> v1.37.x.
KUBERNETES_VERSION=v1.37.2
KUBE_ROUTER_VERSION=v2.1.0

bin="${XDG_CACHE_HOME:-${HOME:?}/.cache}/netlens/controlplane-kubernetes-$KUBERNETES_VERSION-kube-router-$KUBE_ROUTER_VERSION"
mkdir -p "$bin"

if [[ ! -x $bin/kube-apiserver || ! -x $bin/kubectl ]]; then
  echo "build-controlplane: building kube-apiserver and kubectl $KUBERNETES_VERSION (once; 10-30 minutes)" >&2
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${KUBERNETES_VERSION#v}")"
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBERNETES_VERSION")"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  (
    cd tests/controlplane/build
    go build -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags "$ldflags" -o "$bin/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  )
  mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
  mv "$bin/kubectl.tmp" "$bin/kubectl"
fi

if [[ ! -x $bin/kube-router ]]; then
  echo "build-controlplane: building kube-router $KUBE_ROUTER_VERSION (once; a few minutes)" >&2
  GOBIN="$bin" go install -trimpath "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
fi

echo "$bin"
