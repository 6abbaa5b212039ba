"""Checking and sealing register rows beside the event loop.

Each resident costs about 150 µs of CPU (the ID number and phone checks, four Fernet
seals and two keyed hashes): at a city's size that is minutes of work that must not
stall identity's gRPC answers, and one core would cap an import near 6,000 rows a
second. :class:`PoolPreparer` runs it in worker processes (``spawn``: a fork of a
process running gRPC threads is not safe), each given the cipher once at start, so a
batch travels there as rows and comes back sealed. :class:`ThreadPreparer` does the
same in a thread of this process (tests, small machines: ``MINTONG_IMPORT_WORKERS=0``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from services.identity.adapters.pii import PiiCipher
from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer import register
from services.identity.service_layer.ports import PreparedBatch, PreparedResident, RowProblem
from services.runtime.errors import ProblemError

Records = Sequence[tuple[int, dict[str, str] | RowProblem]]


def check(cipher: PiiCipher, records: Records, today: dt.date) -> PreparedBatch:
    """Each record checked; the good ones hashed, the others reported."""
    good: list[PreparedResident] = []
    problems: list[RowProblem] = []
    for line, row in records:
        if isinstance(row, RowProblem):
            problems.append(row)
            continue
        try:
            resident = register.to_resident(row, today)
        except ProblemError as error:
            problems.append(RowProblem(line, error.field or "row", error.detail))
            continue
        good.append(
            PreparedResident(
                resident,
                lookup=cipher.lookup(resident.id_number),
                digest=cipher.lookup(register.digest_text(resident)),
            )
        )
    return PreparedBatch(good, problems)


def seal(cipher: PiiCipher, residents: Sequence[PreparedResident]) -> list[PreparedResident]:
    """Each resident with its personal data sealed."""
    return [
        PreparedResident(
            p.resident,
            p.lookup,
            p.digest,
            {
                "id_sealed": cipher.seal(p.resident.id_number),
                "name_sealed": cipher.seal(p.resident.name),
                "phone_sealed": cipher.seal(p.resident.phone),
                "address_sealed": cipher.seal(p.resident.household_address),
                **_optional_sealed(cipher.seal, p.resident.card_number, p.resident.residence_address),
            },
        )
        for p in residents
    ]


def _optional_sealed(seal: Any, card_number: str, residence_address: str) -> dict[str, str]:
    """The optional personal fields the row has, sealed; one it leaves empty is left
    out (stored as NULL, not as a sealed "")."""
    values = {"card_number_sealed": card_number, "residence_address_sealed": residence_address}
    return {column: seal(value) for column, value in values.items() if value}


class ThreadPreparer:
    def __init__(self, cipher: PiiCipher) -> None:
        self.cipher = cipher

    async def check(self, records: Records, today: dt.date) -> PreparedBatch:
        return await asyncio.to_thread(check, self.cipher, records, today)

    async def seal(self, residents: Sequence[PreparedResident]) -> list[PreparedResident]:
        return await asyncio.to_thread(seal, self.cipher, residents)

    async def close(self) -> None:
        pass


_worker_cipher: PiiCipher | None = None


def _start_worker(cipher: PiiCipher, parent: int) -> None:
    global _worker_cipher
    _worker_cipher = cipher
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    """A worker whose service died without shutting the pool down (killed, crashed)
    would wait for work for ever: it ends when its parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


# Between processes a batch travels as tuples of plain values: pickling dataclasses
# and enums cost about as much CPU as sealing them (~25 µs a row against ~4).
Packed = tuple[Any, ...]
_SEALED = ("id_sealed", "name_sealed", "phone_sealed", "address_sealed")


def _pack(p: PreparedResident) -> Packed:
    r = p.resident
    return (
        r.id_number,
        r.name,
        r.phone,
        r.city_code,
        r.household_address,
        r.gender,
        r.birth_date,
        r.photo_captured_on,
        r.fingerprint_on_file,
        r.card_issued_on,
        r.card_expires_on,
        r.card_status.value,
        p.lookup,
        p.digest,
        r.card_number,
        r.residence_city_code,
        r.residence_address,
        r.residence_registered_on,
    )


def _unpack(t: Packed) -> PreparedResident:
    resident = Resident(
        citizen_id="",
        id_number=t[0],
        name=t[1],
        phone=t[2],
        city_code=t[3],
        household_address=t[4],
        gender=t[5],
        birth_date=t[6],
        photo_captured_on=t[7],
        fingerprint_on_file=t[8],
        card_issued_on=t[9],
        card_expires_on=t[10],
        card_status=CardStatus(t[11]),
        card_number=t[14],
        residence_city_code=t[15],
        residence_address=t[16],
        residence_registered_on=t[17],
    )
    return PreparedResident(resident, t[12], t[13])


def _check_in_worker(records: Records, today: dt.date) -> tuple[list[Packed], list[RowProblem]]:
    assert _worker_cipher is not None, "the pool's initializer sets the cipher"
    checked = check(_worker_cipher, records, today)
    return [_pack(p) for p in checked.residents], checked.problems


def _seal_in_worker(plain: list[tuple[str, ...]]) -> list[dict[str, str]]:
    assert _worker_cipher is not None, "the pool's initializer sets the cipher"
    seal = _worker_cipher.seal
    return [
        {
            **{column: seal(value) for column, value in zip(_SEALED, values[:4], strict=True)},
            **_optional_sealed(seal, *values[4:]),
        }
        for values in plain
    ]


class PoolPreparer:
    """Worker processes, started at the first large batch and kept until the service
    stops. A batch smaller than ``min_batch`` (a small file, a file's end) is not
    worth the trip: a thread does it."""

    def __init__(self, cipher: PiiCipher, workers: int, *, min_batch: int = 500) -> None:
        self.cipher = cipher
        self.workers = workers
        self.min_batch = min_batch
        self._pool: ProcessPoolExecutor | None = None
        self._thread = ThreadPreparer(cipher)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.cipher, os.getpid()),
            )
        return self._pool

    async def check(self, records: Records, today: dt.date) -> PreparedBatch:
        if len(records) < self.min_batch:
            return await self._thread.check(records, today)
        loop = asyncio.get_running_loop()
        packed, problems = await loop.run_in_executor(self._executor(), _check_in_worker, records, today)
        return PreparedBatch([_unpack(t) for t in packed], problems)

    async def seal(self, residents: Sequence[PreparedResident]) -> list[PreparedResident]:
        if len(residents) < self.min_batch:
            return await self._thread.seal(residents)
        plain: list[tuple[str, ...]] = [
            (
                p.resident.id_number,
                p.resident.name,
                p.resident.phone,
                p.resident.household_address,
                p.resident.card_number,
                p.resident.residence_address,
            )
            for p in residents
        ]
        loop = asyncio.get_running_loop()
        tokens = await loop.run_in_executor(self._executor(), _seal_in_worker, plain)
        return [
            PreparedResident(p.resident, p.lookup, p.digest, t)
            for p, t in zip(residents, tokens, strict=True)
        ]

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
