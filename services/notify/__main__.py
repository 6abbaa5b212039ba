"""``python -m services.notify [serve|migrate|reseal|verify-audit]``."""

from __future__ import annotations

import argparse
import asyncio

from services.notify import bootstrap
from services.notify.adapters import orm
from services.notify.config import NotifySettings
from services.runtime import audit
from services.runtime.lifecycle import configure_logging, load_settings, serve
from services.runtime.pii import reseal_command


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.notify")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC service (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    again = commands.add_parser(
        "reseal", help="re-seal every stored address under the newest MINTONG_PII_KEYS key"
    )
    again.add_argument("--batch", type=int, default=500, help="rows per transaction")
    commands.add_parser("verify-audit", help="check the audit log's hash chain")
    args = parser.parse_args()
    settings = load_settings(NotifySettings)
    if (args.command or "serve") == "serve":
        serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings).host)
        return
    configure_logging(settings.log_level)
    app = bootstrap.build(settings)
    match args.command:
        case "migrate":
            app.migrate()
        case "reseal":
            raise SystemExit(asyncio.run(reseal_command(app.reseal, app.db, args.batch)))
        case "verify-audit":
            raise SystemExit(asyncio.run(audit.verify_command(app.db, orm.audit)))


if __name__ == "__main__":
    main()
