"""Every error the gateway answers is ``application/problem+json`` (RFC 9457),
naming the machine-readable ``code`` and the ``field`` at fault."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc_status import rpc_status
from starlette.exceptions import HTTPException as StarletteHTTPException

from mintong.common.v1 import common_pb2

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

# What a failed call means when the service sent no problem details.
_GRPC_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    # Under heavy load the channel cancels calls it cannot start: try again later.
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.title = title or code.replace("_", " ").capitalize()
        self.headers = headers or {}
        self.errors: list[dict[str, str]] = [{"field": field, "message": detail}] if field else []


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:mintong:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "code": problem.code,
    }
    if problem.field:
        body["field"] = problem.field
    if problem.errors:
        body["errors"] = problem.errors
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE, headers=problem.headers)


def from_grpc(error: grpc.aio.AioRpcError) -> Problem:
    """Turn a failed call into the problem the service described, or a generic one."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        problem = common_pb2.Problem()
        if detail.Unpack(problem):
            result = Problem(
                problem.status or _GRPC_STATUS.get(error.code(), 500),
                problem.code,
                problem.detail,
                title=problem.title,
                field=problem.field_violations[0].field if problem.field_violations else None,
            )
            result.errors = [{"field": v.field, "message": v.description} for v in problem.field_violations]
            if problem.retry_after_seconds:
                result.headers["Retry-After"] = str(problem.retry_after_seconds)
            return result
    http = _GRPC_STATUS.get(error.code(), 502)
    if http == 503:
        return Problem(503, "service_unavailable", "A service behind the gateway is unavailable; try again.")
    if http == 504:
        return Problem(504, "service_timeout", "A service behind the gateway did not answer in time.")
    log.error("unexpected gRPC failure %s: %s", error.code(), error.details())
    return Problem(http, "upstream_error", "A service behind the gateway failed.")


def _field_name(location: tuple[Any, ...]) -> str:
    # ("query", "from") -> "from"; ("body", "cities", 0, "code") -> "cities[0].code"
    parts = location[1:] if location and location[0] in ("query", "path", "header", "body") else location
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return name or str(location[0] if location else "request")


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "request", "message": "invalid request"}
        problem = Problem(
            400, "invalid_request", f"{first['field']}: {first['message']}", field=first["field"]
        )
        problem.errors = errors
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        problem = Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
        return problem_response(problem, request)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _grpc(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        return problem_response(from_grpc(exc), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(Problem(500, "internal_error", "Something went wrong on our side."), request)
