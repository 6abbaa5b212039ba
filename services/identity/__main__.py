"""``python -m services.identity [serve|migrate|import FILE|verify-audit|create-staff …|
republish-contacts]``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
from pathlib import Path
from typing import Literal

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.identity.domain.staff import StaffRole
from services.identity.service_layer import contacts, register
from services.runtime import audit
from services.runtime.errors import ProblemError
from services.runtime.lifecycle import configure_logging, load_settings, serve
from services.runtime.pii import reseal_command


async def _import(app: bootstrap.Identity, content: bytes, fmt: Literal["json", "csv"]) -> int:
    try:
        result = await register.import_residents(
            app.uow, app.cipher, content, fmt, actor="admin:cli", now=dt.datetime.now(dt.UTC)
        )
    except ProblemError as problem:
        print(f"refused: {problem.detail}", file=sys.stderr)
        return 2
    finally:
        await app.db.dispose()
    print(f"imported {result.imported}, updated {result.updated}, refused {len(result.problems)}")
    for bad in result.problems:
        print(f"  line {bad.line}: {bad.field}: {bad.reason}")
    return 1 if result.problems else 0


#: Where ``create-staff`` takes the password from when set (else stdin or a prompt):
#: never from the command line, which other users of the machine can read.
PASSWORD_ENV = "MINTONG_STAFF_PASSWORD"


def _read_password() -> str:
    if password := os.environ.get(PASSWORD_ENV):
        return password
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        sys.exit("the two passwords differ")
    return first


async def _create_staff(app: bootstrap.Identity, args: argparse.Namespace, password: str) -> int:
    try:
        account = await app.staff.create(
            actor="admin:cli",
            username=args.username,
            display_name=args.display_name or "",
            role=StaffRole(args.role),
            office_id=args.office,
            password=password,
        )
    except ProblemError as problem:
        print(f"refused: {problem.detail}", file=sys.stderr)
        return 2
    finally:
        await app.db.dispose()
    print(f"made {account.role.value} {account.username!r} ({account.id})")
    return 0


async def _republish_contacts(app: bootstrap.Identity) -> int:
    try:
        published = await contacts.publish_all(app.uow, restart=True)
    finally:
        await app.db.dispose()
    # The running (or next) identity process's relay publishes them to NATS.
    print(f"queued the contacts of {published} citizens for notify")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.identity")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC service (default)")
    commands.add_parser("migrate", help="bring the database schema up to date")
    load = commands.add_parser("import", help="import residents from a CSV or JSON file")
    load.add_argument("file", type=Path)
    commands.add_parser("verify-audit", help="check the audit log's hash chain")
    again = commands.add_parser(
        "reseal", help="re-seal every stored personal datum under the newest MINTONG_PII_KEYS key"
    )
    again.add_argument("--batch", type=int, default=500, help="rows per transaction")
    commands.add_parser(
        "republish-contacts",
        help="queue every citizen's contacts for notify again (after restoring notify's database)",
    )
    create = commands.add_parser(
        "create-staff",
        help=f"make a staff account; the password comes from {PASSWORD_ENV}, stdin or a prompt",
    )
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    create.add_argument("--office", help="the office of a window clerk")
    create.add_argument("--display-name")
    args = parser.parse_args()
    settings = load_settings(IdentitySettings)
    if (args.command or "serve") == "serve":
        serve(bootstrap.NAME, settings, lambda: bootstrap.build(settings).host)
        return
    configure_logging(settings.log_level)
    app = bootstrap.build(settings)
    match args.command:
        case "migrate":
            app.migrate()
        case "import":
            fmt: Literal["json", "csv"] = "csv" if args.file.suffix.lower() == ".csv" else "json"
            sys.exit(asyncio.run(_import(app, args.file.read_bytes(), fmt)))
        case "verify-audit":
            sys.exit(asyncio.run(audit.verify_command(app.db, orm.audit)))
        case "reseal":
            sys.exit(asyncio.run(reseal_command(app.reseal, app.db, args.batch)))
        case "create-staff":
            sys.exit(asyncio.run(_create_staff(app, args, _read_password())))
        case "republish-contacts":
            sys.exit(asyncio.run(_republish_contacts(app)))


if __name__ == "__main__":
    main()
