"""What a gRPC call between two of our processes costs in CPU, the handler's work
apart: a server made by ``services.runtime.grpc_server.start_server`` (its
handlers' wrapping, ``CallContext``, and server span) answering an echo method, called through
``services.runtime.grpc_client.insecure_channel`` (request id, caller, client span
and trace context), each call under a request's span as the gateway makes it,
``--concurrency`` at a time, tracing set up as a service sets it up (spans written as
OTLP-JSON lines to a temporary directory), on uvloop. Client and server share this
process: the figure is the CPU of both sides per call (user + system, from
getrusage), every thread included (gRPC's core and the span exporter).

Both sides come from the code on the path, so the code before a change is measured
with its checkout first on ``PYTHONPATH``:

    .venv/bin/python bench/grpc_call.py
    PYTHONPATH=<the code before>:<its gen> .venv/bin/python bench/grpc_call.py

This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import tempfile
from pathlib import Path
from typing import Any

import grpc
import uvloop
from opentelemetry import trace

from services.runtime import context
from services.runtime.grpc_client import insecure_channel
from services.runtime.grpc_server import start_server
from services.runtime.telemetry import setup_tracing

SERVICE = "bench.v1.Echo"


def _register(server: grpc.aio.Server) -> None:
    async def echo(request: bytes, ctx: Any) -> bytes:
        return request

    handlers = {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="mintong-bench-grpc-"))
    try:
        if setup_tracing("bench", work) is None:
            raise SystemExit("tracing is off (OTEL_SDK_DISABLED): nothing like a service's calls")
        server, port, _ = await start_server(_register, [SERVICE])
        channel = insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(f"/{SERVICE}/Echo")
        tracer = trace.get_tracer("bench")
        context.request_id.set("bench-request")

        async def one() -> None:
            with tracer.start_as_current_span("POST /v1/bench", kind=trace.SpanKind.SERVER):
                await call(b"x" * 200)

        async def calls(n: int) -> None:
            for _ in range(n // args.concurrency):
                await asyncio.gather(*(one() for _ in range(args.concurrency)))

        print("| round | calls | CPU µs per call (client + server) | load avg |")
        print("|---:|---:|---:|---:|")
        await calls(500)  # connection, caches, the first export
        for round_ in range(1, args.rounds + 1):
            started = _cpu_seconds()
            await calls(args.calls)
            used = 1e6 * (_cpu_seconds() - started) / args.calls
            print(f"| {round_} | {args.calls} | {used:.0f} | {os.getloadavg()[0]:.1f} |", flush=True)
        await channel.close()
        await server.stop(None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls a round (default 3000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds measured (default 2)")
    parser.add_argument("--concurrency", type=int, default=10, help="calls at a time (default 10)")
    uvloop.run(main(parser.parse_args()))
