#!/usr/bin/env bash
# Debian's Chromium (and a CJK font, so the screenshots show Chinese) for the browser
# tests in tests/browser. Playwright drives this binary and never downloads its own:
# this machine's network reaches the Debian mirrors, not Playwright's CDN.
# `make chromium` runs this; `make test` and .ci/run call it first.
set -euo pipefail
CHROMIUM=${MINTONG_CHROMIUM:-/usr/bin/chromium}
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

if [[ -x "$CHROMIUM" && -e "$FONT" ]]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
packages=(chromium fonts-wqy-microhei)
if [[ $(id -u) -eq 0 ]]; then
  run=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "chromium: $CHROMIUM is missing and this user cannot install packages." >&2
  echo "          Install them as root: apt-get install -y ${packages[*]}" >&2
  echo "          (the browser tests fail under CI=true and are skipped elsewhere until then)" >&2
  exit 1
fi
echo "chromium: installing Debian's ${packages[*]} for the browser tests"
if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  "${run[@]}" apt-get update -qq >/dev/null 2>&1 || true
  if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends "${packages[@]}"; then
    echo "chromium: apt-get could not install ${packages[*]} (no Debian mirror reachable?)." >&2
    echo "          The browser tests fail under CI=true and are skipped elsewhere until then." >&2
    exit 1
  fi
fi
echo "chromium: $("$CHROMIUM" --version)"
