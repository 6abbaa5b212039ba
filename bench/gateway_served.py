"""The gateway's CPU per request behind a real HTTP server, without the platform: the
app of ``bench/gateway_asgi.py`` (the services faked, one slot full at the edge)
served by uvicorn on uvloop in a process of its own, asked by ``--clients``
keep-alive connections of raw HTTP/1.1 (``harness.RawClient``) as fast as it
answers. Reported: the server process's CPU (user + system, every thread, from
/proc) per answer over ``--seconds``, after a warm-up.

What it compares is the HTTP protocol uvicorn serves with (``--http``): uvicorn's
own httptools protocol, which writes an answer's head and its body apart, and the
gateway's (``gateway/http_server.py``, decision 119), which writes them as one. Each
round runs every protocol named once, one after the other, so that a machine shared
with others loads them alike:

    .venv/bin/python bench/gateway_served.py --ports 19200-19299 --rounds 3
    .venv/bin/python bench/gateway_served.py --route book --tracing

``refuse``: ``POST /v1/bookings`` of the full slot, refused at the edge (409);
``book``: of a slot with places (booking's answer faked); ``busy``: turned away by
the admission limit (503 ``overloaded``), every turn held. This is a benchmark, not a
test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import harness

HTTP = ("httptools", "one-write")
ROUTES = {"refuse": (5, 409), "book": (6, 201), "busy": (6, 503)}  # gateway_asgi's FULL_SLOT, FREE_SLOT


def serve(port: int, http: str, tracing: bool, busy: bool) -> None:
    """The child: the app served until killed; its citizen's token on stdout first."""
    # This checkout's gateway_asgi (the script's own folder is first on the path),
    # whichever checkout's gateway PYTHONPATH names: the same bench for a before.
    import gateway_asgi  # type: ignore[import-not-found]
    import uvicorn

    from gateway.http_server import OneWriteHttpToolsProtocol
    from services.runtime import telemetry

    if tracing:
        telemetry.setup_tracing("gateway", Path(tempfile.mkdtemp(prefix="gateway-served-")))
    app = gateway_asgi.gateway()
    if busy:
        app.middleware_stack = app.build_middleware_stack()
        asyncio.run(gateway_asgi.overload(app))
    print(gateway_asgi.citizen_token(), flush=True)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=OneWriteHttpToolsProtocol if http == "one-write" else "httptools",
        loop="uvloop",
        lifespan="off",  # gateway_asgi made the state the lifespan would have
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(port: int, token: str, route: str, clients: int, seconds: float) -> int:
    """Answers got in ``seconds`` from ``clients`` connections asking back to back."""
    slot, expected = ROUTES[route]
    body = f'{{"slot_id":{slot},"business":"B"}}'.encode()
    stop = time.monotonic() + seconds
    answered = 0

    async def client() -> None:
        nonlocal answered
        raw = harness.RawClient(f"http://127.0.0.1:{port}")
        try:
            while time.monotonic() < stop:
                headers = {
                    "X-Mintong-Channel": "web",
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": str(uuid.uuid4()),
                }
                status, _ = await raw.post("/v1/bookings", body, headers)
                if status != expected:
                    raise SystemExit(f"{route}: answered {status}, not {expected}")
                answered += 1
        finally:
            await raw.aclose()

    await asyncio.gather(*(client() for _ in range(clients)))
    return answered


async def run(http: str, args: argparse.Namespace) -> tuple[float, float, float]:
    """One protocol: answers a second, server CPU µs an answer, load generator's."""
    (port,) = harness.free_ports(1)
    command = [sys.executable, __file__, "--child", http, "--port", str(port)]
    child = await asyncio.create_subprocess_exec(
        *command,
        *(["--tracing"] if args.tracing else []),
        *(["--busy"] if args.route == "busy" else []),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        token = (await child.stdout.readline()).decode().strip()
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        await load(port, token, args.route, args.clients, 2.0)  # warm-up
        server, mine, started = cpu_seconds(child.pid), time.process_time(), time.monotonic()
        answered = await load(port, token, args.route, args.clients, args.seconds)
        elapsed = time.monotonic() - started
        used, generator = cpu_seconds(child.pid) - server, time.process_time() - mine
    finally:
        child.terminate()
        await child.wait()
    return answered / elapsed, 1e6 * used / answered, 1e6 * generator / answered


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http", nargs="+", choices=HTTP, default=list(HTTP), help="protocols compared")
    parser.add_argument("--route", choices=sorted(ROUTES), default="refuse")
    parser.add_argument("--clients", type=int, default=64, help="connections (default 64)")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured per run (default 6)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each protocol (default 2)")
    parser.add_argument("--tracing", action="store_true", help="spans made and exported, as `make up` does")
    harness.ports_option(parser)
    args = parser.parse_args()
    harness.PORT_RANGE = args.ports
    print("| round | protocol | load average | answers/s | server CPU µs an answer | load generator's |")
    print("|--:|---|---|--:|--:|--:|")
    for n in range(1, args.rounds + 1):
        for http in args.http:
            load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg()[:2])
            rate, server, generator = await run(http, args)
            print(
                f"| {n} | {http} | {load_average} | {rate:.0f} | {server:.0f} | {generator:.0f} |", flush=True
            )


if __name__ == "__main__":
    if "--child" in sys.argv:
        child = argparse.ArgumentParser()
        child.add_argument("--child", choices=HTTP)
        child.add_argument("--port", type=int)
        child.add_argument("--tracing", action="store_true")
        child.add_argument("--busy", action="store_true")
        options = child.parse_args()
        serve(options.port, options.child, options.tracing, options.busy)
    else:
        asyncio.run(main())
