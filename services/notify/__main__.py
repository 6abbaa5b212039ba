"""``python -m services.notify [serve|migrate]``."""

from __future__ import annotations

import argparse

from services.notify import bootstrap
from services.notify.config import NotifySettings
from services.runtime.lifecycle import configure_logging, load_settings, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.notify")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args()
    settings = load_settings(NotifySettings)
    if args.command == "serve":
        serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings).host)
        return
    configure_logging(settings.log_level)
    bootstrap.build(settings).migrate()


if __name__ == "__main__":
    main()
