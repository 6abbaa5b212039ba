"""`make observe`: Prometheus scraping the platform `make up` runs, with mintong's rules.

The targets come from the same MINTONG_* environment as `make up` (each process's
metrics port, README's port table), so one environment configures both. The
configuration and the time series live under ``<data dir>/prometheus``; Prometheus
listens on 127.0.0.1:MINTONG_PROMETHEUS_PORT (19090: away from a system
Prometheus on 9090) until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from gateway.config import GatewaySettings
from services.runtime.lifecycle import load_settings

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules"
PROCESSES = ("gateway", "identity", "booking", "cards", "notify")
DEFAULT_PORT = 19090


def _reachable(host: str) -> str:
    """Where to reach a process listening on ``host`` (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def config(settings: GatewaySettings, rules: Path = RULES) -> dict[str, Any]:
    """prometheus.yml: one job per process (``mintong-<process>``), the metrics port
    of each of its workers as a static target; processes with metrics port 0 serve
    none and are left out."""
    jobs = []
    for process in PROCESSES:
        ports = settings.metrics_ports(process)
        if not ports:
            continue
        host = _reachable(settings.http_host if process == "gateway" else settings.grpc_host)
        targets = [f"{host}:{port}" for port in ports]
        jobs.append(
            {
                "job_name": f"mintong-{process}",
                "static_configs": [{"targets": targets, "labels": {"process": process}}],
            }
        )
    return {
        # Quicker than production's 15-30 s: on one machine one wants to see a
        # booking counted at once.
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": [str(path) for path in sorted(rules.glob("*.yml"))],
        "scrape_configs": jobs,
    }


def main() -> int:
    settings = load_settings(GatewaySettings)
    port = int(os.environ.get("MINTONG_PROMETHEUS_PORT", DEFAULT_PORT))
    binary = shutil.which("prometheus")
    if binary is None:
        print(
            "make observe: prometheus is missing; run `make prometheus` (Debian's package)", file=sys.stderr
        )
        return 2
    home = (settings.data_dir / "prometheus").resolve()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "prometheus.yml"
    path.write_text(yaml.safe_dump(config(settings), sort_keys=False), encoding="utf-8")
    targets = ", ".join(
        f"{job['job_name']} {' '.join(job['static_configs'][0]['targets'])}"
        for job in config(settings)["scrape_configs"]
    )
    print(
        f"\nmintong: Prometheus at http://127.0.0.1:{port} scraping {targets}; rules from {RULES}; "
        f"data in {home / 'data'}. Try the query  sum by (outcome) (mintong_bookings_total)  "
        "— Ctrl-C stops it.\n",
        flush=True,
    )
    args = [
        binary,
        f"--config.file={path}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=7d",
    ]
    os.execv(binary, args)  # Prometheus itself gets Ctrl-C and stops cleanly
    return 0


if __name__ == "__main__":
    sys.exit(main())
