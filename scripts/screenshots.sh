#!/usr/bin/env bash
# Regenerates the screenshots in docs/img/: builds the plugin, runs the
# browser tests of every app page (tests/browser/pages.browser.ts) with
# NETLENS_SCREENSHOTS set, which write each page in light and dark theme after
# a minute of denied lab traffic, and copies the ones the docs show. Every
# screenshot of the run stays in the printed directory. Run as root (the
# tests run the network lab and the agent).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

out=$(mktemp -d)
npm run build >/dev/null
quietly mage -v
NETLENS_SCREENSHOTS="$out" NETLENS_BROWSER_ONLY=pages NETLENS_REQUIRE_PRIVILEGED=1 \
  go test -count=1 -timeout 15m -run TestAppInTheBrowser ./tests/browser/

# The ones README.md and docs/app.md show.
mkdir -p docs/img
for shot in overview-dark drops-direct-light nic-light nodes-dark configuration-light; do
  cp "$out/$shot.png" "docs/img/app-$shot.png"
done
echo "screenshots: all in $out; docs/img/app-*.png updated"
