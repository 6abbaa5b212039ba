"""The cards service's composition root. Its domain, database and gRPC API arrive
with the issue that builds it; until then it takes part in health and readiness."""

from __future__ import annotations

from services.runtime.config import ServiceSettings
from services.runtime.host import ServiceHost

NAME = "cards"


def build(settings: ServiceSettings) -> ServiceHost:
    return ServiceHost(NAME, settings, register=lambda server: None, service_names=[])
