"""`make up`: the whole platform on one machine.

Migrates each database, loads the demo data into an empty one, starts a
nats-server with JetStream under the data dir (unless MINTONG_NATS_URL points
elsewhere), then runs every service and the gateway under honcho until Ctrl-C or
SIGINT/SIGTERM (to this process or to `make`'s), which stops them (SIGTERM, then
SIGKILL after their grace period) and only then NATS, so no service is left
reconnecting to it; a stop asked for that way exits 0, so `make` reports no error.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import honcho.manager
from honcho.manager import SIGNALS, Manager
from honcho.printer import Printer

from gateway.config import GatewaySettings
from services.runtime.config import WORKER_METRICS_STRIDE
from services.runtime.dev_secrets import dev_secret
from services.runtime.lifecycle import load_settings

SERVICES = ("identity", "booking", "cards", "notify")
DEV_ADMIN = "admin"


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def nats_config(data_dir: Path, port: int) -> Path:
    """JetStream on files under the data dir, fsynced on every write: an event
    acknowledged to a service's outbox relay survives a power cut. Its log goes to
    nats.log there."""
    store = (data_dir / "nats").resolve()
    store.mkdir(parents=True, exist_ok=True)
    path = data_dir / "nats.conf"
    path.write_text(
        f'listen: "127.0.0.1:{port}"\nlog_file: "{(data_dir / "nats.log").resolve()}"\n'
        f'jetstream {{\n  store_dir: "{store}"\n  sync_interval: always\n}}\n',
        encoding="utf-8",
    )
    return path


def start_nats(binary: str, config: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """nats-server in a session of its own (Ctrl-C in the terminal does not reach
    it: up.py stops it last), once it accepts connections."""
    nats = subprocess.Popen([binary, "-c", str(config)], env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while not port_accepts("127.0.0.1", port):
        if nats.poll() is not None or time.monotonic() > deadline:
            nats.kill()
            raise SystemExit(f"make up: nats-server did not start; see {config.parent / 'nats.log'}")
        time.sleep(0.05)
    return nats


def port_accepts(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def stop_nats(nats: subprocess.Popen[bytes], wait: float) -> None:
    nats.terminate()
    try:
        nats.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        nats.kill()
        nats.wait()
    print(f"nats stopped (rc={nats.returncode})", flush=True)


def main() -> int:
    settings = load_settings(GatewaySettings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    wanted = {f"MINTONG_{s.upper()}_GRPC_PORT": settings.grpc_port(s) for s in SERVICES}
    wanted["MINTONG_HTTP_PORT"] = settings.http_port
    # A metrics port for each worker of the gateway and booking (MINTONG_*_WORKERS).
    metrics_ports: dict[str, int] = {}
    for process in ("gateway", *SERVICES):
        variable = f"MINTONG_{process.upper()}_METRICS_PORT"
        for i, port in enumerate(settings.metrics_ports(process)):
            metrics_ports[process if i == 0 else f"{process} worker {i}"] = port
            wanted[variable if i == 0 else f"{variable} + {WORKER_METRICS_STRIDE * i} (worker {i})"] = port
    embedded_nats = "MINTONG_NATS_URL" not in os.environ
    if embedded_nats:
        wanted["MINTONG_EMBEDDED_NATS_PORT, or set MINTONG_NATS_URL"] = settings.embedded_nats_port
        env["MINTONG_NATS_URL"] = f"nats://127.0.0.1:{settings.embedded_nats_port}"
    busy = [f"  port {port} ({name})" for name, port in wanted.items() if not port_free("127.0.0.1", port)]
    if busy:
        print("make up: these ports are in use; stop what uses them or choose others:", file=sys.stderr)
        print("\n".join(busy), file=sys.stderr)
        return 2

    python = sys.executable
    demo_residents = str(Path(__file__).resolve().parents[1] / "demo" / "residents.csv")
    for service, *step in (
        ("booking", "migrate"),
        ("notify", "migrate"),
        ("identity", "migrate"),
        ("cards", "migrate"),
        ("booking", "seed"),
        ("identity", "import", demo_residents),  # importing again only updates
    ):
        subprocess.run([python, "-m", f"services.{service}", *step], env=env, check=True)

    # honcho kills what has not stopped after KILL_WAIT seconds: give every process
    # its configured drain and grace first.
    honcho.manager.KILL_WAIT = int(settings.shutdown_drain + settings.shutdown_grace) + 5
    manager = Manager(Printer(sys.stdout))
    # Staff sign in at /v1/staff/token. On a developer's machine the first
    # administrator gets a random password, kept in a file only its owner reads;
    # identity makes the account at start when it is missing.
    service_env = {name: env for name in SERVICES}
    admin_note = ""
    if settings.env == "dev" and "MINTONG_BOOTSTRAP_ADMIN_USER" not in os.environ:
        password = dev_secret(settings.data_dir, "admin-password")
        service_env["identity"] = dict(
            env, MINTONG_BOOTSTRAP_ADMIN_USER=DEV_ADMIN, MINTONG_BOOTSTRAP_ADMIN_PASSWORD=password
        )
        admin_note = (
            f" Staff: administrator {DEV_ADMIN!r}, password in {settings.data_dir / 'admin-password'}."
        )
    # honcho runs each command through a shell: exec, so that its "stopped" means
    # the process itself has finished stopping (and reports its own exit code).
    for service in SERVICES:
        manager.add_process(service, f"exec {python} -m services.{service}", env=service_env[service])
    manager.add_process("gateway", f"exec {python} -m gateway", env=env)

    # NATS runs outside honcho, which would stop it together with the services.
    nats = None
    if embedded_nats:
        binary = shutil.which("nats-server", path=str(Path(python).parent)) or "nats-server"
        config = nats_config(settings.data_dir, settings.embedded_nats_port)
        nats = start_nats(binary, config, settings.embedded_nats_port, env)
    print(
        f"\nmintong: gateway at http://{settings.http_host}:{settings.http_port} "
        f"(API docs at /docs, readiness at /readyz); traces in {settings.data_dir / 'traces'}; "
        f"metrics at /metrics on ports {', '.join(f'{p} {port}' for p, port in metrics_ports.items())} "
        f"(`make observe` scrapes them); Ctrl-C stops everything.{admin_note}\n",
        flush=True,
    )
    try:
        manager.loop()
    finally:
        if nats is not None:
            stop_nats(nats, wait=honcho.manager.KILL_WAIT)
    # Honcho answers a stop it was asked for with 130/143, which make reports as an
    # error: a stop on request is a success; a process that died on its own is not.
    asked = {int(s["rc"]) for s in SIGNALS.values()}
    return 0 if manager.returncode in asked else (manager.returncode or 0)


if __name__ == "__main__":
    sys.exit(main())
