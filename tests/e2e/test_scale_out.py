"""Scale-out on one machine (issue 14): a 3-node NATS cluster with the streams at R3,
two gateways and two booking processes on one PostgreSQL, and a booking load that
runs while a NATS node (the BOOKING stream's leader) is killed and restarted, a
booking process is killed and restarted, and booking's database connections are
cut and come back. Nothing booked is lost or made twice, every BookingConfirmed is
in the stream once and handled by notify once, and every answer given during a
fault is one a client can act on (bench/scale.py; the longer run with throughput is
bench/scale_out.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from bench import scale

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: What a client may be told, and why; anything else fails the test:
#: 503 service_unavailable — the gateway's call reached no booking process (the
#:   killed one, before round-robin moved off it), or booking lost its database
#:   connection under the call (decision 58);
#: 504 service_timeout — a call outlived the gateway's deadline while a fault was on.
#: Each is retried with the same Idempotency-Key and ends in a 201 (replayed when the
#: first try had committed). No gateway is killed: a dropped connection is not expected.
EXPLAINED = ("201", "503 service_unavailable", "504 service_timeout")


def test_bookings_survive_a_nats_node_a_booking_process_and_the_database_going_away(
    tmp_path: Path, postgres_url: str, nats_binary: str
) -> None:
    prefix = f"scale{uuid.uuid4().hex[:8]}_"
    # No trace files and quiet logs: the test's CPU goes to the platform and its faults.
    settings = {"OTEL_SDK_DISABLED": "true", "MINTONG_LOG_LEVEL": "WARNING"}
    with scale.scaled_platform(
        tmp_path, postgres_url, prefix, settings=settings, graceful_stop=False
    ) as platform:
        load, check, done = asyncio.run(_run(platform))
    answers = {fault: dict(counts) for fault, counts in load.by_fault().items()}
    print(answers, check)  # shown by pytest -s, and below on failure

    assert len(done) == 3, done
    assert all(answers.get(fault) for fault in done), answers  # the load ran through each
    assert check.problems == [], check.problems
    assert load.gave_up == [], answers
    assert check.bookings_in_db == len(load.booked) > 0
    unexplained = [
        (fault, label)
        for fault, counts in answers.items()
        for label in counts
        if not label.startswith(EXPLAINED)
    ]
    assert unexplained == [], answers


async def _run(platform: scale.ScaledPlatform) -> tuple[scale.Load, scale.Check, list[str]]:
    await platform.wait_nats()
    await platform.wait_ready()
    load = scale.Load()
    over = asyncio.Event()
    # A trickle (two clients, a pause between citizens) is enough to meet every fault
    # and keeps notify, the slowest consumer here, close behind.
    booking = asyncio.create_task(
        scale.book(platform, load, until=over, at_least=30, concurrency=2, pace=0.2)
    )
    done = await scale.faults(platform, load, over, hold=1.0, calm=0.5)
    await booking
    return load, await scale.check(platform, load), done
