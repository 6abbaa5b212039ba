#!/usr/bin/env bash
# Debian's Prometheus (prometheus and promtool) for `make observe` and for the rule
# tests in `make test` (tests/unit/test_prometheus_rules.py). `make prometheus` runs
# this; `make test`, `make observe` and .ci/run call it first.
# The package's own service (a system Prometheus on :9090, where systemd runs) is
# not what `make observe` runs: that one has its own port and data dir.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  echo "prometheus: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
  run=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "prometheus: prometheus/promtool are missing and this user cannot install packages." >&2
  echo "            Install Debian's package as root: apt-get install -y prometheus" >&2
  echo "            (the rule tests fail under CI=true and are skipped elsewhere until then)" >&2
  exit 1
fi
echo "prometheus: installing Debian's prometheus package"
if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; then
  "${run[@]}" apt-get update -qq >/dev/null 2>&1 || true
  if ! DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y --no-install-recommends prometheus; then
    echo "prometheus: apt-get could not install prometheus (no Debian mirror reachable?)." >&2
    echo "            The rule tests fail under CI=true and are skipped elsewhere until then." >&2
    exit 1
  fi
fi
echo "prometheus: $(prometheus --version 2>&1 | head -1)"
