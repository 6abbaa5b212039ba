"""Settings every service shares, read from MINTONG_* environment variables.

One-machine defaults work with no configuration at all: SQLite files and the
embedded NATS server under the data dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

#: `make up` starts its own nats-server here, away from a system NATS on 4222.
DEFAULT_NATS_PORT = 14222

#: Worker i of a process serves its metrics this many ports times i above the
#: process's own metrics port: the defaults 9460-9464 are consecutive.
WORKER_METRICS_STRIDE = 10

#: Every sandbox provider a service may select, by the name MINTONG_ALLOW_SANDBOX
#: uses: identity's face verifier and WeChat OAuth, notify's SMS, WeChat and APP push,
#: the cards service's card production centre and courier.

SANDBOX_NAMES = frozenset({"face", "wechat_oauth", "sms", "wechat", "app_push", "card_production", "courier"})


class ServiceSettings(BaseSettings):
    """Configuration common to all services; each service subclasses it."""

    model_config = SettingsConfigDict(env_prefix="MINTONG_", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    data_dir: Path = Path("var")
    #: When set, PostgreSQL is used; each service keeps its tables in its own schema
    #: named ``<db_schema_prefix><service>`` (e.g. "booking").
    database_url: str | None = None
    db_schema_prefix: str = Field(default="", pattern=r"^[a-z0-9_]*$")
    #: One URL, or the nodes of a cluster separated by commas.
    nats_url: str = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"
    #: Where `make up` runs its own nats-server when MINTONG_NATS_URL is not set.
    embedded_nats_port: int = DEFAULT_NATS_PORT
    #: JetStream replicas per stream: 1 on one machine, 3 on a NATS cluster.
    nats_replicas: int = Field(default=1, ge=1, le=5)
    nats_streams_file: Path = REPO_ROOT / "deploy" / "nats" / "streams.yaml"
    grpc_host: str = "127.0.0.1"
    #: Seconds a stopping server reports NOT_SERVING while still answering, so that
    #: load balancers stop sending it calls (a few seconds under Kubernetes).
    shutdown_drain: float = Field(default=0.0, ge=0)
    #: Seconds a stopping server then gives in-flight calls before cancelling them.
    shutdown_grace: float = Field(default=5.0, ge=0)
    log_level: str = "INFO"
    #: Sandbox providers (SANDBOX_NAMES) a production process may start with anyway,
    #: comma-separated: with MINTONG_ENV=prod a process refuses to start on any
    #: sandbox not named here, and logs a WARNING naming each one it runs on.
    allow_sandbox: Annotated[frozenset[str], NoDecode] = frozenset()

    # Where each service listens; every process knows them all, so one environment
    # configures the whole platform. *_grpc_target overrides host:port (e.g. a
    # Kubernetes service name).
    identity_grpc_port: int = 50051
    booking_grpc_port: int = 50052
    cards_grpc_port: int = 50053
    notify_grpc_port: int = 50054
    # Where each process serves its /metrics (Prometheus), on the gRPC host (the
    # gateway: its HTTP host); 0 serves none. Every process knows them all, so
    # `make up` checks them and `make observe` scrapes them from one environment.
    gateway_metrics_port: int = Field(default=9460, ge=0, le=65535)
    identity_metrics_port: int = Field(default=9461, ge=0, le=65535)
    booking_metrics_port: int = Field(default=9462, ge=0, le=65535)
    cards_metrics_port: int = Field(default=9463, ge=0, le=65535)
    notify_metrics_port: int = Field(default=9464, ge=0, le=65535)
    #: Seconds between samples of what costs a query to measure (the outbox's
    #: backlog, consumers' pending counts, waitlist holds).
    metrics_sample_seconds: float = Field(default=10.0, gt=0)
    #: Processes of the gateway and of booking sharing one port (SO_REUSEPORT,
    #: decision 75): one supervisor process starts them and stops them. Each serves
    #: its metrics on its own port, MINTONG_<PROCESS>_METRICS_PORT + 10 x its index
    #: (``metrics_port``). Several booking processes need PostgreSQL.
    gateway_workers: int = Field(default=1, ge=1, le=16)
    booking_workers: int = Field(default=1, ge=1, le=16)
    #: Which of its service's workers this process is (0, 1, ...): set by the
    #: supervisor in each worker's environment, never by hand. None: not a worker.
    worker_index: int | None = Field(default=None, ge=0)
    identity_grpc_target: str | None = None
    booking_grpc_target: str | None = None
    cards_grpc_target: str | None = None
    notify_grpc_target: str | None = None

    @field_validator("allow_sandbox", mode="before")
    @classmethod
    def _sandbox_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = {part.strip() for part in value.split(",") if part.strip()}
        unknown = sorted(set(value) - SANDBOX_NAMES) if isinstance(value, set | frozenset | list) else []
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: no such sandbox (known: {', '.join(sorted(SANDBOX_NAMES))})"
            )
        return value

    @model_validator(mode="after")
    def _no_unannounced_sandbox(self) -> ServiceSettings:
        # A sandbox in production answers citizens as if it were real (a face
        # verifier matching any token, SMS codes readable by staff): only by name.
        refused = sorted(self.sandboxes() - self.allow_sandbox)
        if self.env == "prod" and refused:
            raise ValueError(
                f"MINTONG_ENV=prod refuses the sandbox provider(s) {', '.join(refused)}: configure real "
                "ones, or name them in MINTONG_ALLOW_SANDBOX to run on them anyway"
            )
        return self

    @model_validator(mode="after")
    def _one_booking_writer_on_sqlite(self) -> ServiceSettings:
        # SQLite's file has one writer at a time: processes would take turns on its
        # lock through busy_timeout (sleeps), and each would run a relay publishing
        # every outbox row (only PostgreSQL's relays take turns, decision 57).
        if self.booking_workers > 1 and self.database_url_for("booking").startswith("sqlite"):
            raise ValueError(
                "MINTONG_BOOKING_WORKERS above 1 needs PostgreSQL (MINTONG_DATABASE_URL): "
                "several processes would take turns on one SQLite file"
            )
        return self

    def sandboxes(self) -> frozenset[str]:
        """The sandbox providers these settings select (SANDBOX_NAMES); a service's
        settings with providers say which."""
        return frozenset()

    def grpc_port(self, service: str) -> int:
        return int(getattr(self, f"{service}_grpc_port"))

    def metrics_port(self, process: str, worker: int = 0) -> int:
        """Where ``process`` (its worker ``worker``, when it runs several) serves
        /metrics; 0: nowhere."""
        port = int(getattr(self, f"{process}_metrics_port"))
        return port + WORKER_METRICS_STRIDE * worker if port else 0

    def metrics_ports(self, process: str) -> list[int]:
        """Where each of ``process``'s workers serves /metrics (none if it serves none)."""
        return (
            [self.metrics_port(process, i) for i in range(self.workers(process))]
            if self.metrics_port(process)
            else []
        )

    def workers(self, process: str) -> int:
        """How many processes of ``process`` share its port (1 for those that
        cannot run several: identity, cards and notify)."""
        return int(getattr(self, f"{process}_workers", 1))

    def grpc_target(self, service: str) -> str:
        target = getattr(self, f"{service}_grpc_target")
        return target or f"{self.grpc_host}:{self.grpc_port(service)}"

    def database_schema_for(self, service: str) -> str:
        return f"{self.db_schema_prefix}{service}"

    def database_url_for(self, service: str) -> str:
        """The SQLAlchemy URL of one service's own database."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"
