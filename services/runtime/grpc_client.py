"""gRPC channels from one service (or the gateway) to another: traced, and carrying
the request id and caller of the call being served."""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, filters

from services.runtime import context


class _ContextMetadata(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds request id and caller from the context variables, unless the caller of
    the stub already set them explicitly."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = list(client_call_details.metadata or ())
        present = {key for key, _ in metadata}
        metadata += [(k, v) for k, v in context.outgoing_metadata() if k not in present]
        return await continuation(client_call_details._replace(metadata=metadata), request)


def insecure_channel(target: str, **options: Any) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        target,
        interceptors=[
            *aio_client_interceptors(filter_=filters.negate(filters.health_check())),
            _ContextMetadata(),
        ],
        **options,
    )
