#!/usr/bin/env bash
# Installs Debian packages a make target or the tests need (Chromium for the browser
# tests, Prometheus for `make observe` and the rule tests): as root, or through sudo
# without a password; otherwise it says what to run as root and fails. One copy of
# that for tests/browser/install-chromium.sh and deploy/prometheus/install-prometheus.sh,
# which check first whether their tool is there and call this only when it is not.
#
#   deploy/apt-install.sh LABEL WAITING PACKAGE...
#
# LABEL starts every line (chromium, prometheus); WAITING names what fails under
# CI=true, and is skipped elsewhere, until the packages are there ("the browser tests").
set -euo pipefail
label=$1
waiting=$2
shift 2
packages=("$@")
indent=$(printf '%*s' $((${#label} + 2)) '')

if [[ $(id -u) -eq 0 ]]; then
  run=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "$label: ${packages[*]} missing, and this user cannot install packages." >&2
  echo "${indent}Install them as root: apt-get install -y ${packages[*]}" >&2
  echo "${indent}($waiting fail under CI=true and are skipped elsewhere until then)" >&2
  exit 1
fi
echo "$label: installing Debian's ${packages[*]}"
# Quietly first; the package lists may be stale or absent (a fresh container), so a
# failure updates them and tries once more, this time showing apt-get's own words.
if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  "${run[@]}" apt-get update -qq >/dev/null 2>&1 || true
  if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends "${packages[@]}"; then
    echo "$label: apt-get could not install ${packages[*]} (no Debian mirror reachable?)." >&2
    echo "${indent}$waiting fail under CI=true and are skipped elsewhere until then." >&2
    exit 1
  fi
fi
