"""gRPC channels from one service (or the gateway) to another: traced, and carrying
the request id and caller of the call being served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from services.runtime import context, telemetry
from services.runtime.errors import Kind, ProblemError

T = TypeVar("T")


class _ContextMetadata(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds request id and caller from the context variables, unless the caller of
    the stub already set them explicitly."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or ())
        present = {key for key, _ in metadata}
        metadata += [(k, v) for k, v in context.outgoing_metadata() if k not in present]
        return await continuation(client_call_details._replace(metadata=metadata), request)


#: A target naming several processes of one service, e.g.
#: ``ipv4:127.0.0.1:50052,127.0.0.1:50062``: its calls are spread over them.
ROUND_ROBIN = [("grpc.lb_policy_name", "round_robin")]


def insecure_channel(target: str, **options: Any) -> grpc.aio.Channel:
    """A channel to ``target``. Several addresses are balanced call by call
    (round_robin, which also steers calls away from a process that went down)
    rather than gRPC's default pick_first, which would send every call to the first
    one while it lives; one address, or a DNS name (Kubernetes' Service), is left to
    the default."""
    channel_options = [*(ROUND_ROBIN if "," in target else []), *options.pop("options", [])]
    return grpc.aio.insecure_channel(
        target,
        options=channel_options,
        interceptors=[
            *aio_client_interceptors(filter_=telemetry.not_health_check),
            _ContextMetadata(),
        ],
        **options,
    )


class LazyStub(Generic[T]):
    """A stub made on first use, inside the running event loop (a grpc.aio channel
    made by a composition root, before asyncio.run, would belong to no loop), whose
    failures become a 503 problem naming the service rather than a crash."""

    def __init__(self, service: str, target: str, make: Callable[[grpc.aio.Channel], T]) -> None:
        self.service = service
        self.target = target
        self._make = make
        self._stub: T | None = None

    def get(self) -> T:
        if self._stub is None:
            self._stub = self._make(insecure_channel(self.target))
        return self._stub

    def unavailable(self, error: grpc.aio.AioRpcError) -> ProblemError:
        problem = ProblemError(
            f"{self.service}_unavailable",
            f"The {self.service} service could not answer ({error.code().name}); try again.",
            kind=Kind.UNAVAILABLE,
        )
        problem.retry_after = 5
        return problem
