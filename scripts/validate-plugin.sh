#!/usr/bin/env bash
# Packages dist/ as a Grafana plugin archive and runs Grafana's plugin
# validator (plugincheck2) on it, with the source of the working tree, the way
# the plugin catalog does. dist/ must be built first (npm run build, mage -v).
# PLUGINCHECK2 names the validator binary; without it, plugincheck2 from PATH
# or `go install`. Where none can be had it says NOT RUN plugin-validator (a
# known gap: the Go module proxy of the development machines refuses the
# validator and its npm wrapper downloads from GitHub; docs/known-gaps.md).
# The validator's dependency and code scanners run on their own in
# scripts/scan-dependencies.sh either way.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

validator=${PLUGINCHECK2:-$(command -v plugincheck2 || true)}
if [[ -z $validator ]] && go install github.com/grafana/plugin-validator/pkg/cmd/plugincheck2@latest 2>/dev/null; then
  validator="$(go env GOPATH)/bin/plugincheck2"
fi
if [[ -z $validator ]]; then
  not_run plugin-validator "plugincheck2 cannot be installed here: the Go module proxy refuses github.com/grafana/plugin-validator and @grafana/plugin-validator on npm downloads its binary from GitHub"
  exit 0
fi
[[ -f dist/plugin.json && -d dist/datasource ]] || { echo "dist/ is not built: run npm run build and mage -v" >&2; exit 1; }

id="$(node -p 'require("./src/plugin.json").id')"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The archive holds one folder named after the plugin id.
cp -r dist "$tmp/$id"
(cd "$tmp" && python3 -m zipfile -c "$id.zip" "$id")
# The source the validator matches the source maps against: the tracked and
# untracked, not ignored, files of the working tree.
mkdir "$tmp/source"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp/source" 2>/dev/null || true
"$validator" -sourceCodeUri "file://$tmp/source" "$tmp/$id.zip"
