#!/usr/bin/env bash
# Packages dist/ as a Grafana plugin archive and runs Grafana's plugin
# validator (plugincheck2) on it, with the source of the working tree, the way
# the plugin catalog does. dist/ must be built first (npm run build, mage -v).
# PLUGINCHECK2 names the validator binary; without it, plugincheck2 from PATH
# or `go install`. Where none can be had it says NOT EXERCISED and exits 0:
# the Go module proxy of the development machines refuses the validator (see
# docs/plugin-validator.md), so CI cannot run it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

validator=$(optional_go_tool "${PLUGINCHECK2:-}" plugincheck2 github.com/grafana/plugin-validator/pkg/cmd/plugincheck2)
if [[ -z "$validator" ]]; then
  echo "NOT EXERCISED: plugin validator: plugincheck2 is not installed and go install of github.com/grafana/plugin-validator failed (module proxy refused it)"
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
