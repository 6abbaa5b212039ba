#!/usr/bin/env bash
# Debian's Prometheus (prometheus and promtool) for `make observe` and for the rule
# tests in `make test` (tests/unit/test_prometheus_rules.py). `make prometheus` runs
# this; `make test`, `make observe` and .ci/run call it first.
# The package's own service (a system Prometheus on :9090, where systemd runs) is
# not what `make observe` runs: that one has its own port and data dir.
set -euo pipefail
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  "$(dirname "$0")/../apt-install.sh" prometheus "the rule tests" prometheus
fi
echo "prometheus: $(prometheus --version 2>&1 | head -1)"
