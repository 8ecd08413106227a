#!/bin/sh
# Builds netlens-agent the way the images do (deploy/docker/Dockerfile and
# Dockerfile.windows run this script; scripts/test.sh runs it for linux/amd64,
# linux/arm64 and windows/amd64 and tests/deploy checks the binaries, so a broken
# image build shows up without Docker).
#
#   GOOS=linux GOARCH=arm64 VERSION=0.1.0 deploy/docker/build-agent.sh out/netlens-agent
#
# Static (CGO_ENABLED=0): the eBPF objects are embedded in the binary, which needs
# no libc, so the image can be distroless/static. -trimpath for reproducible builds.
set -eu
out=${1:?usage: build-agent.sh OUTPUT}
cd "$(dirname "$0")/../.."
CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly" \
  go build -trimpath \
  -ldflags "-s -w -X github.com/netlens/netlens/agent/version.Version=${VERSION:-dev}" \
  -o "$out" ./agent/cmd/netlens-agent
