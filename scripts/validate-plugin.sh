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
if [[ -z $validator ]]; then
  status=0
  go_install_unless_refused github.com/grafana/plugin-validator/pkg/cmd/plugincheck2@latest || status=$?
  case $status in
  0) validator="$GOBIN/plugincheck2" ;;
  3)
    not_run plugin-validator "plugincheck2 cannot be installed here: the Go module proxy refuses github.com/grafana/plugin-validator ($GO_INSTALL_REFUSAL) and @grafana/plugin-validator on npm downloads its binary from GitHub"
    exit 0
    ;;
  *) exit 1 ;;
  esac
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
