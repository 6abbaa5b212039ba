"""Register-import benchmark: residents/s checked, sealed and stored on PostgreSQL by
identity's import job, and the peak memory of an import of 100,000 and of 1,000,000
rows (it must not grow with the file).

Each size runs in a child process of its own (peak RSS only ever grows within a
process) that does what ``python -m services.identity import FILE`` does: the file —
made up on the fly, valid ID numbers and mobile numbers, never written to disk — is
streamed into a job in 1 MB pieces (``receive``), then the job runs in this process
with ``MINTONG_IMPORT_WORKERS`` worker processes checking and sealing the rows
(``run_next``). Tables live in a ``regimport_*`` PostgreSQL schema dropped afterwards.
The smallest size is then imported again (every row unchanged: the idempotent
re-run's rate). ``--profile N`` runs a cProfile of an N-row import with the sealing in
the profiled thread, and prints where the time goes.

    .venv/bin/python bench/register_import.py                             # 100k and 1M rows
    .venv/bin/python bench/register_import.py --rows 20000 --profile 20000
    .venv/bin/python bench/register_import.py --write docs/performance.md

This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench import harness

START, END = "<!-- register-import:start -->", "<!-- register-import:end -->"
PREFIX = "regimport_"
DEFAULT_URL = harness.POSTGRES_URL
HEADER = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status\n"
)


async def register_file(rows: int, piece: int = 1 << 20) -> AsyncIterator[bytes]:
    """``rows`` residents as CSV, in pieces of about ``piece`` bytes."""
    from services.identity.domain.id_number import check_character

    born0 = dt.date(1950, 1, 1)
    buffer = io.StringIO()
    buffer.write(HEADER)
    for n in range(rows):
        # 20,000 birth dates × 1,000 sequence numbers: distinct ID numbers up to 20 million.
        born = born0 + dt.timedelta(days=n % 20_000)
        first17 = f"410105{born:%Y%m%d}{n // 20_000 % 1000:03d}"
        buffer.write(
            f"{first17}{check_character(first17)},居民{n},139{n:08d},zhengzhou,"
            f"河南省郑州市金水区花园路{n % 500}号,2022-05-10,true,2022-05-20,2042-05-20,valid\n"
        )
        if buffer.tell() >= piece:
            yield buffer.getvalue().encode()
            buffer = io.StringIO()
            await asyncio.sleep(0)
    yield buffer.getvalue().encode()


class InlinePreparer:
    """Checks and seals in the event loop's own thread: what cProfile sees."""

    def __init__(self, cipher: Any) -> None:
        self.cipher = cipher

    async def check(self, records: Any, today: dt.date) -> Any:
        from services.identity.adapters.preparer import check

        return check(self.cipher, records, today)

    async def seal(self, residents: Any) -> Any:
        from services.identity.adapters.preparer import seal

        return seal(self.cipher, residents)

    async def close(self) -> None:
        pass


def peak_rss_mib() -> tuple[float, float]:
    """Peak RSS of this process, and of the largest child that ended (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def cpu_seconds() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def child(rows: int, again: bool, url: str, workers: int, batch: int, profile: bool) -> dict[str, Any]:
    """One import of ``rows`` rows (and, with ``again``, the same file once more)."""
    from services.identity import bootstrap
    from services.identity.config import IdentitySettings

    prefix = f"{PREFIX}{os.getpid()}_"
    await harness.drop_schemas(url, prefix)
    settings = IdentitySettings(
        data_dir=Path(f"/tmp/{prefix}data"),
        database_url=url,
        db_schema_prefix=prefix,
        import_workers=0 if profile else workers,
        import_batch=batch,
    )
    app = bootstrap.build(settings)
    if profile:
        app.imports.preparer = InlinePreparer(app.cipher)
    await asyncio.to_thread(app.migrate)
    result: dict[str, Any] = {"rows": rows, "workers": 0 if profile else workers, "batch": batch}
    profiler = cProfile.Profile() if profile else None
    try:
        runs = []
        for _ in range(2 if again else 1):
            cpu0 = cpu_seconds()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            job = await app.imports.receive(register_file(rows), "csv", actor="admin:bench")
            received = time.perf_counter()
            done = await app.imports.run_next(job.id)
            finished = time.perf_counter()
            if profiler:
                profiler.disable()
            assert done is not None
            cpu1 = cpu_seconds()
            runs.append(
                {
                    "state": done.state,
                    "bytes": done.bytes,
                    "receive_s": received - started,
                    "run_s": finished - received,
                    "rate": rows / (finished - received),
                    "rate_with_upload": rows / (finished - started),
                    "imported": done.imported,
                    "updated": done.updated,
                    "unchanged": done.unchanged,
                    "rejected": done.rejected,
                    "cpu_main_s": cpu1[0] - cpu0[0],
                }
            )
        await app.imports.preparer.close()  # the workers end: their peak RSS is counted
        result["runs"] = runs
        result["peak_rss_mib"], result["peak_rss_worker_mib"] = peak_rss_mib()
        result["cpu_workers_s"] = cpu_seconds()[1]
        async with app.db.read() as conn:
            result["stored"] = (await conn.exec_driver_sql("SELECT count(*) FROM residents")).scalar()
    finally:
        await app.db.dispose()
        await harness.drop_schemas(url, prefix)
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
        result["profile"] = out.getvalue()
    return result


def run_child(args: argparse.Namespace, rows: int, *, again: bool, profile: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(rows), "--database-url", args.database_url]
    command += ["--workers", str(args.workers), "--batch", str(args.batch)]
    command += ["--again"] if again else []
    command += ["--profile-child"] if profile else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {rows}-row run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cpu_per_row(result: dict[str, Any]) -> float:
    """µs of CPU (job process and its workers) per row read, over a child's runs."""
    cpu = sum(run["cpu_main_s"] for run in result["runs"]) + result["cpu_workers_s"]
    return cpu / (result["rows"] * len(result["runs"])) * 1e6


def report(results: list[dict[str, Any]], args: argparse.Namespace, machine: list[tuple[str, str]]) -> str:
    lines = [
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with "
        f"`.venv/bin/python bench/register_import.py {' '.join(sys.argv[1:])}`".rstrip()
        + ".",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine),
        "",
        "| rows | run | upload s | import s | rows/s (import) | rows/s (with upload) | imported | unchanged "
        "| CPU s (job process) | peak RSS job process | peak RSS one worker |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for n, run in enumerate(r["runs"]):
            lines.append(
                f"| {r['rows']:,} | {'first' if n == 0 else 're-run (same file)'} | {run['receive_s']:.1f} "
                f"| {run['run_s']:.1f} | **{run['rate']:,.0f}** | {run['rate_with_upload']:,.0f} "
                f"| {run['imported']:,} | {run['unchanged']:,} | {run['cpu_main_s']:.0f} "
                f"| {r['peak_rss_mib']:.0f} MiB | {r['peak_rss_worker_mib']:.0f} MiB |"
            )
    lines += [
        "",
        "CPU of the import's processes, per row read (job process and workers, both runs "
        "of a size together): "
        + ", ".join(f"{r['rows']:,} rows: {cpu_per_row(r):.0f} µs" for r in results)
        + " (PostgreSQL's own CPU not included).",
        "",
        f"{args.workers} worker processes check and seal, batches of {args.batch:,} rows; every run "
        "stored all its rows (`SELECT count(*)` afterwards: "
        + ", ".join(f"{r['stored']:,}" for r in results)
        + ").",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=2, help="MINTONG_IMPORT_WORKERS")
    parser.add_argument("--batch", type=int, default=2000, help="MINTONG_IMPORT_BATCH")
    parser.add_argument("--profile", type=int, default=0, help="also profile an import of this many rows")
    parser.add_argument("--write", type=Path, help="put the results into this markdown file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--again", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = await child(
            args.child, args.again, args.database_url, args.workers, args.batch, args.profile_child
        )
        print(json.dumps(result))
        return 0
    results = []
    for n, rows in enumerate(sorted(args.rows)):
        print(f"importing {rows:,} rows …", flush=True)
        result = run_child(args, rows, again=n == 0)
        for run in result["runs"]:
            print(
                f"  {run['rate']:,.0f} rows/s ({run['run_s']:.1f} s; upload {run['receive_s']:.1f} s); "
                f"imported {run['imported']:,}, unchanged {run['unchanged']:,}",
                flush=True,
            )
        print(
            f"  peak RSS {result['peak_rss_mib']:.0f} MiB, one worker {result['peak_rss_worker_mib']:.0f} MiB"
        )
        results.append(result)
    section = report(results, args, harness.machine())
    if args.profile:
        print(f"profiling {args.profile:,} rows (sealing in the profiled thread) …", flush=True)
        profiled = run_child(args, args.profile, again=False, profile=True)
        print(profiled["profile"])
        section += (
            f"\n\nWhere the time goes: cProfile of a {args.profile:,}-row import with the checking and "
            "sealing in the job's own process (`--profile`), by own time:\n\n```\n"
            + "\n".join(profiled["profile"].strip().splitlines()[:30])
            + "\n```"
        )
    print(section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Register import")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
