"""``python -m services.identity [serve|migrate|import FILE|verify-audit|create-staff …|
republish-contacts]``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.identity.domain.staff import StaffRole
from services.identity.service_layer import contacts
from services.identity.service_layer.imports import KEPT_REJECTIONS
from services.identity.service_layer.ports import ImportJob
from services.identity.service_layer.register import Format
from services.runtime import audit
from services.runtime.errors import ProblemError
from services.runtime.lifecycle import configure_logging, load_settings, serve
from services.runtime.pii import reseal_command


def _format(path: Path) -> Format:
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


async def _pieces(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as file:
        while piece := await asyncio.to_thread(file.read, size):
            yield piece


def _lines(path: Path) -> int:
    """About how many rows the file holds, for the progress bar (read in pieces)."""
    count = 0
    with path.open("rb") as file:
        while piece := file.read(1 << 20):
            count += piece.count(b"\n")
    return count


async def _import(app: bootstrap.Identity, path: Path) -> int:
    """Store the file as a job and run it here, with a progress bar; when a running
    identity service takes the job first, follow its progress instead."""
    fmt = _format(path)
    try:
        job = await app.imports.receive(_pieces(path), fmt, actor="admin:cli")
        with Progress(
            TextColumn("importing {task.fields[name]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:,.0f} rows/s"),
            TimeRemainingColumn(),
            transient=not sys.stderr.isatty(),
            console=Console(stderr=True),
        ) as bar:
            rows = max(_lines(path) - (1 if fmt == "csv" else 0), 1)
            task = bar.add_task("import", total=rows, name=path.name, rate=0.0)

            def show(now: ImportJob) -> None:
                bar.update(task, completed=now.rows_done, rate=now.rate(dt.datetime.now(dt.UTC)))

            finished = await app.imports.run_next(job.id, progress=show)
            while finished is None or finished.state not in ("done", "failed"):
                await asyncio.sleep(0.5)
                finished = await app.imports.status(job.id)
                show(finished)
        finished = await app.imports.status(job.id, rejections=KEPT_REJECTIONS)
    except ProblemError as problem:
        print(f"refused: {problem.detail}", file=sys.stderr)
        return 2
    finally:
        await app.imports.preparer.close()
        await app.db.dispose()
    print(
        f"import {finished.id}: {finished.state}; {finished.rows_done} rows: imported {finished.imported}, "
        f"updated {finished.updated}, unchanged {finished.unchanged}, refused {finished.rejected}"
    )
    for bad in finished.rejections:
        print(f"  line {bad.line}: {bad.field}: {bad.reason}")
    if finished.rejected > len(finished.rejections):
        print(f"  … and {finished.rejected - len(finished.rejections)} more")
    if finished.error is not None:
        print(f"failed: {finished.error.reason}", file=sys.stderr)
        return 2
    return 1 if finished.rejected else 0


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
    load = commands.add_parser(
        "import", help="import residents from a CSV file (.csv) or a JSON lines file (any other name)"
    )
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
            sys.exit(asyncio.run(_import(app, args.file)))
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
