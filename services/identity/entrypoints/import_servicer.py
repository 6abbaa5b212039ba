"""Identity's administrator servicer: register imports, uploaded as a stream of
pieces and followed as jobs (service_layer/imports.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from mintong.identity.v1 import identity_pb2 as pb
from mintong.identity.v1 import identity_pb2_grpc as pb_grpc
from services.identity.service_layer.imports import ResidentImports
from services.identity.service_layer.ports import ImportJob, RowProblem
from services.identity.service_layer.register import Format
from services.runtime import context as calls
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument
from services.runtime.proto_values import timestamp_to_proto

_FORMATS: dict[int, Format] = {pb.IMPORT_FORMAT_CSV: "csv", pb.IMPORT_FORMAT_JSON_LINES: "jsonl"}


def resident_import(job: ImportJob, now: dt.datetime) -> pb.ResidentImport:
    def problem(p: RowProblem) -> pb.RowProblem:
        return pb.RowProblem(line=p.line, field=p.field, reason=p.reason)

    return pb.ResidentImport(
        import_id=job.id,
        state=job.state,
        rows_done=job.rows_done,
        imported=job.imported,
        updated=job.updated,
        unchanged=job.unchanged,
        rejected=job.rejected,
        rejections=[problem(p) for p in job.rejections],
        rows_per_second=job.rate(now),
        created_at=timestamp_to_proto(job.created_at),
        started_at=timestamp_to_proto(job.started_at),
        finished_at=timestamp_to_proto(job.finished_at),
        bytes_received=job.bytes,
        error_code=job.error_code or "",
        error=problem(job.error) if job.error else None,
    )


class IdentityAdminServicer(pb_grpc.IdentityAdminServiceServicer):
    def __init__(self, imports: ResidentImports, clock: Clock) -> None:
        self.imports = imports
        self.clock = clock

    async def StartResidentImport(self, request_iterator, context):
        calls.require_role(calls.Role.ADMINISTRATOR)
        fmt: Format | None = None

        async def pieces() -> AsyncIterator[bytes]:
            nonlocal fmt
            async for piece in request_iterator:
                if fmt is None:
                    if piece.format not in _FORMATS:
                        raise InvalidArgument(
                            "invalid_format", "Name the file's format: CSV or JSON lines.", field="format"
                        )
                    fmt = _FORMATS[piece.format]
                yield piece.content

        # The first piece names the format: read it before the job is made.
        stream = pieces()
        first = await anext(stream, None)
        if fmt is None or first is None:
            raise InvalidArgument("empty_import", "Send the register file.", field="content")

        async def whole() -> AsyncIterator[bytes]:
            yield first
            async for piece in stream:
                yield piece

        job = await self.imports.receive(whole(), fmt, actor=str(calls.caller.get()))
        return pb.StartResidentImportResponse(job=resident_import(job, self.clock()))

    async def GetResidentImport(self, request, context):
        calls.require_role(calls.Role.ADMINISTRATOR)
        job = await self.imports.status(request.import_id)
        return pb.GetResidentImportResponse(job=resident_import(job, self.clock()))
