"""``python -m services.cards [serve|migrate|reseal|verify-audit]``."""

from __future__ import annotations

import argparse
import asyncio
import getpass

from services.cards import bootstrap
from services.cards.adapters import orm
from services.cards.config import CardsSettings
from services.runtime import audit, context
from services.runtime.lifecycle import configure_logging, load_settings, serve
from services.runtime.pii import reseal_command


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.cards")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC service and the journey worker (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    again = commands.add_parser(
        "reseal", help="re-seal every stored delivery address, phone and card number under the newest key"
    )
    again.add_argument("--batch", type=int, default=500, help="rows per transaction")
    commands.add_parser("verify-audit", help="check the audit log's hash chain")
    args = parser.parse_args()

    settings = load_settings(CardsSettings)
    if (args.command or "serve") == "serve":
        serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings).host)
        return
    configure_logging(settings.log_level)
    context.caller.set(context.Caller.operator(getpass.getuser()))
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
