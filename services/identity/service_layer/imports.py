"""Register imports as jobs: a file is received in pieces and stored (sealed), then
read as a stream, checked and sealed row by row, and committed a batch at a time by
whichever identity process holds the job's lease. Nobody waits on a request for it:
the status (state, rows done, refused rows by line, rate) is asked for separately.

Resuming: each batch's residents and the job's ``rows_done`` are committed in one
transaction, so a process that dies mid-job leaves the job exactly at its last
committed batch; when its lease runs out, any identity process takes the job over
and reads on from there. Re-running the same file is idempotent as well: residents
are keyed by ID number, and a row equal to what is stored is not written at all.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from services.identity.service_layer import register
from services.identity.service_layer.ports import (
    BatchDone,
    ImportJob,
    ImportUnitOfWork,
    LeaseLost,
    PreparedBatch,
    Preparer,
    RowProblem,
)
from services.identity.service_layer.register import Format, Record, RowReader
from services.runtime.clock import Clock
from services.runtime.errors import Conflict, NotFound, ProblemError
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

#: Refused rows kept per job for its status (all are counted).
KEPT_REJECTIONS = 1000


@dataclass(frozen=True)
class ImportPolicy:
    #: Rows per committed batch.
    batch: int = 2000
    #: Bytes per stored piece of the file.
    piece: int = 1 << 20
    #: How long a process holds a job without renewing (it renews with every
    #: piece received and every batch committed).
    lease: dt.timedelta = dt.timedelta(seconds=60)
    #: Batches being checked and sealed while the previous one is written.
    ahead: int = 2


class ResidentImports:
    def __init__(
        self,
        uow: ImportUnitOfWork,
        preparer: Preparer,
        *,
        clock: Clock,
        policy: ImportPolicy = ImportPolicy(),
    ) -> None:
        self.uow = uow
        self.preparer = preparer
        self.clock = clock
        self.policy = policy
        #: This process, as the holder of a job's lease.
        self.owner = str(uuid.uuid4())
        #: Called when a received job waits to run (the runner wakes up).
        self.on_queued: Callable[[], None] = lambda: None

    # --- receiving ------------------------------------------------------------

    async def receive(self, pieces: AsyncIterable[bytes], fmt: Format, *, actor: str) -> ImportJob:
        """Store an uploaded file as a queued job. A file whose start shows it cannot
        be read (no CSV header with every column, not UTF-8) is refused here."""
        now = self.clock()
        job = ImportJob(str(uuid.uuid4()), "receiving", fmt, actor, now, lease_owner=self.owner)
        async with self.uow.write() as store:
            await store.create_job(job, now + self.policy.lease)
        try:
            checker = RowReader(fmt)
            seq = 0
            async for piece in self._pieces(pieces):
                if seq == 0:
                    for _ in checker.feed(piece):  # the start: UTF-8, and a CSV header
                        break
                async with self.uow.write() as store:
                    await store.add_chunk(job.id, seq, piece, self.clock() + self.policy.lease)
                seq += 1
            if fmt == "csv" and checker.header is None:
                for _ in checker.end():  # a header without a line end, or none at all
                    break
        except ProblemError as problem:
            await self._refuse(
                job.id, problem.code, RowProblem(0, problem.field or "content", problem.detail)
            )
            raise
        except LeaseLost:
            # Pieces came too slowly: the job was failed as abandoned meanwhile.
            raise Conflict(
                "upload_interrupted",
                f"The upload paused for longer than {self.policy.lease.seconds} s; send the file again.",
                field="content",
            ) from None
        except BaseException:
            # The sender went away (the call was cancelled) or the store failed.
            await self._refuse(
                job.id, "upload_interrupted", RowProblem(0, "content", "The upload stopped before its end.")
            )
            raise
        async with self.uow.write() as store:
            await store.queue_job(job.id)
            await store.audit(
                actor=actor, action="residents.import.received", subject=f"import:{job.id}", detail={}
            )
        self.on_queued()
        return await self.status(job.id)

    async def _refuse(self, job_id: str, code: str, problem: RowProblem) -> None:
        async with self.uow.write() as store:
            await store.finish_job(job_id, self.owner, self.clock(), (code, problem))

    async def _pieces(self, pieces: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """The upload re-cut into pieces of ``policy.piece`` bytes (the last shorter)."""
        buffer = bytearray()
        async for data in pieces:
            buffer += data
            while len(buffer) >= self.policy.piece:
                yield bytes(buffer[: self.policy.piece])
                del buffer[: self.policy.piece]
        if buffer:
            yield bytes(buffer)

    async def run_file(self, content: bytes, fmt: Format, *, actor: str) -> ImportJob:
        """Receive a file held in memory and run its job here, to its end (tests,
        small files): the job as it finished."""

        async def whole() -> AsyncIterator[bytes]:
            yield content

        job = await self.receive(whole(), fmt, actor=actor)
        finished = await self.run_next(job.id)
        return finished or await self.status(job.id)

    async def status(self, job_id: str, *, rejections: int = 100) -> ImportJob:
        async with self.uow.read() as store:
            job = await store.job(job_id, rejections=rejections)
        if job is None:
            raise NotFound("import", job_id, field="import_id")
        return job

    # --- running --------------------------------------------------------------

    async def run_next(
        self, job_id: str | None = None, *, progress: Callable[[ImportJob], None] | None = None
    ) -> ImportJob | None:
        """Take a job that waits (or ``job_id``), run it to its end, return it
        finished; None when there was nothing to take."""
        now = self.clock()
        async with self.uow.write() as store:
            for abandoned in await store.fail_abandoned(now):
                log.warning("register import %s: its upload stopped before the end", abandoned)
            job = await store.claim_job(now, now + self.policy.lease, self.owner, job_id)
        if job is None:
            return None
        log.info("register import %s: running from row %d", job.id, job.rows_done)
        try:
            await self._run(job, progress)
        except LeaseLost:
            log.warning("register import %s: taken over by another process", job.id)
        return await self.status(job.id)

    async def _run(self, job: ImportJob, progress: Callable[[ImportJob], None] | None) -> None:
        today = self.clock().date()
        waiting: collections.deque[tuple[int, asyncio.Future[tuple[PreparedBatch, int]]]] = (
            collections.deque()
        )
        kept = job.rejected
        error: tuple[str, RowProblem] | None = None

        async def commit() -> None:
            nonlocal kept
            count, future = waiting.popleft()
            prepared, skipped = await future
            room = max(0, KEPT_REJECTIONS - kept)
            kept += len(prepared.problems)
            now = self.clock()
            async with self.uow.write() as store:
                done = await register.upsert_residents(store, prepared.residents, now)
                await store.record_batch(
                    job.id,
                    self.owner,
                    BatchDone(
                        rows=count,
                        imported=len(done.created),
                        updated=len(done.changed),
                        unchanged=done.unchanged + skipped,
                        rejected=len(prepared.problems),
                        kept=prepared.problems[:room],
                    ),
                    now + self.policy.lease,
                )
            if progress is not None:
                progress(await self.status(job.id, rejections=0))

        batch: list[Record] = []
        try:
            try:
                async for record in self._records(job):
                    batch.append(record)
                    if len(batch) == self.policy.batch:
                        waiting.append((len(batch), asyncio.ensure_future(self._prepare(batch, today))))
                        batch = []
                        if len(waiting) > self.policy.ahead:
                            await commit()
            except ProblemError as problem:
                # The rest of the file cannot be read: what was read before still counts.
                error = (problem.code, RowProblem(0, problem.field or "content", problem.detail))
            if batch:
                waiting.append((len(batch), asyncio.ensure_future(self._prepare(batch, today))))
            while waiting:
                await commit()
        finally:
            for _, future in waiting:
                future.cancel()
        async with self.uow.write() as store:
            await store.finish_job(job.id, self.owner, self.clock(), error)
            final = await store.job(job.id, rejections=0)
            assert final is not None
            await store.audit(
                actor=job.actor,
                action="residents.import",
                subject=f"import:{job.id}",
                detail={
                    "state": final.state,
                    "rows": final.rows_done,
                    "imported": final.imported,
                    "updated": final.updated,
                    "unchanged": final.unchanged,
                    "refused": final.rejected,
                },
            )
        if progress is not None:
            progress(await self.status(job.id, rejections=0))

    async def _prepare(self, records: list[Record], today: dt.date) -> tuple[PreparedBatch, int]:
        """A batch checked, then sealed but for the residents the register already
        holds just so (a refresh of the register is mostly those): the batch to
        write, and how many were left out as unchanged. The write checks again, in
        its transaction: this look is only there to spare the sealing."""
        checked = await self.preparer.check(records, today)
        async with self.uow.read() as store:
            known = await store.resident_digests([p.lookup for p in checked.residents])
        fresh = [p for p in checked.residents if known.get(p.lookup, ("", None))[1] != p.digest]
        sealed = await self.preparer.seal(fresh) if fresh else []
        return PreparedBatch(sealed, checked.problems), len(checked.residents) - len(fresh)

    async def _records(self, job: ImportJob) -> AsyncIterator[Record]:
        """The file's records after the ones already committed."""
        reader = RowReader(job.format)  # type: ignore[arg-type]
        skip = job.rows_done
        seq = 0
        while True:
            async with self.uow.read() as store:
                piece = await store.chunk(job.id, seq)
            records = reader.end() if piece is None else reader.feed(piece)
            for record in records:
                if skip:
                    skip -= 1
                else:
                    yield record
            if piece is None:
                return
            seq += 1


class ImportRunner(BackgroundLoop):
    """Runs waiting jobs one after another; looks for jobs left by a process that
    died every ``interval`` seconds, and at once when a job is received here."""

    name = "identity-imports"

    def __init__(self, imports: ResidentImports, interval: float) -> None:
        super().__init__()
        self.imports = imports
        self.interval = interval
        imports.on_queued = self.wake

    async def _run(self) -> None:
        while self.running:
            try:
                while self.running and await self.imports.run_next() is not None:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("register import: a run failed; its job is taken up again when its lease ends")
            await self.nap(self.interval)

    async def stop(self) -> None:
        await super().stop()
        await self.imports.preparer.close()
