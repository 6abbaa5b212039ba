#!/usr/bin/env bash
# Debian's Chromium (and a CJK font, so the screenshots show Chinese) for the browser
# tests in tests/browser. Playwright drives this binary and never downloads its own:
# this machine's network reaches the Debian mirrors, not Playwright's CDN.
# `make chromium` runs this; `make test` and .ci/run call it first.
set -euo pipefail
CHROMIUM=${MINTONG_CHROMIUM:-/usr/bin/chromium}
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

if [[ ! -x "$CHROMIUM" || ! -e "$FONT" ]]; then
  "$(dirname "$0")/../../deploy/apt-install.sh" chromium "the browser tests" chromium fonts-wqy-microhei
fi
echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
