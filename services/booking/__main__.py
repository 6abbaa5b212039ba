"""``python -m services.booking [serve|migrate|seed|load-catalogue FILE|publish-slots|verify-audit]``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from services.booking import bootstrap
from services.booking.adapters import orm
from services.booking.config import BookingSettings
from services.booking.service_layer import handlers
from services.runtime import audit, context
from services.runtime.lifecycle import configure_logging, load_settings, serve

log = logging.getLogger("services.booking")


async def _seed(app: bootstrap.Booking, demo_catalogue: bytes, fmt: Literal["yaml", "json"]) -> None:
    """Load the demo catalogue into an empty database, then make sure the next days
    have slots (publishing again is harmless). The events wait in the outbox until
    the service runs."""
    if not await handlers.list_cities(app.uow):
        log.info("loaded demo catalogue: %s", await handlers.load_catalogue(app.uow, demo_catalogue, fmt))
    for city in await handlers.list_cities(app.uow):
        today = app.clock().astimezone(ZoneInfo(city.time_zone)).date()
        last = today + dt.timedelta(days=app.settings.demo_slot_days - 1)
        created, _ = await handlers.publish_slots(app.uow, first=today, last=last, city_code=city.code)
        log.info("%s: %d new slots until %s", city.code, created, last)


async def _once(app: bootstrap.Booking, work: Awaitable[object]) -> None:
    """Run one command's work, print what it returns, and close the database."""
    try:
        if (result := await work) is not None:
            print(result)
    finally:
        await app.db.dispose()


def _format(path: Path) -> Literal["yaml", "json"]:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.booking")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC service (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser("seed", help="load demo data into an empty database")
    load = commands.add_parser("load-catalogue", help="load or refresh a catalogue file")
    load.add_argument("file", type=Path)
    publish = commands.add_parser("publish-slots", help="open slots for a date range")
    publish.add_argument("--from", dest="first", type=dt.date.fromisoformat, required=True)
    publish.add_argument("--to", dest="last", type=dt.date.fromisoformat, required=True)
    where = publish.add_mutually_exclusive_group(required=True)
    where.add_argument("--office")
    where.add_argument("--city")
    commands.add_parser("verify-audit", help="check the audit log's hash chain")
    args = parser.parse_args()

    settings = load_settings(BookingSettings)
    if (args.command or "serve") == "serve":
        serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings).host)
        return
    configure_logging(settings.log_level)
    # What an operator changes from the command line is audited under their login.
    context.caller.set(context.Caller.operator(getpass.getuser()))
    app = bootstrap.build(settings)
    match args.command:
        case "verify-audit":
            raise SystemExit(asyncio.run(audit.verify_command(app.db, orm.audit)))
        case "migrate":
            app.migrate()
        case "seed":
            demo = settings.demo_catalogue
            asyncio.run(_once(app, _seed(app, demo.read_bytes(), _format(demo))))
        case "load-catalogue":
            content = args.file.read_bytes()
            asyncio.run(_once(app, handlers.load_catalogue(app.uow, content, _format(args.file))))
        case "publish-slots":
            work = handlers.publish_slots(
                app.uow,
                first=args.first,
                last=args.last,
                office_id=args.office,
                city_code=args.city,
                clock=app.clock,
            )
            asyncio.run(_once(app, work))


if __name__ == "__main__":
    main()
