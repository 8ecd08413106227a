//go:build tools

// Package build pins the commands scripts/controlplane.sh builds.
package build

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
