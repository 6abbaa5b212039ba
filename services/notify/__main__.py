"""``python -m services.notify``: run the notify service until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from services.notify import bootstrap
from services.runtime.config import ServiceSettings
from services.runtime.lifecycle import configure_logging, run_until_signalled
from services.runtime.telemetry import setup_tracing


def main() -> None:
    settings = ServiceSettings()
    configure_logging(settings.log_level)
    setup_tracing(bootstrap.NAME, settings.data_dir)
    host = bootstrap.build(settings)
    asyncio.run(run_until_signalled(host.start, host.stop))


if __name__ == "__main__":
    main()
