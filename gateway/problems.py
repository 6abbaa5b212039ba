"""Every error the gateway answers is ``application/problem+json`` (RFC 9457),
naming the machine-readable ``code`` and the ``field`` at fault, and the OpenAPI
document says so for every operation.

How a route declares its problems: pass ``responses=problems.declare(...)`` to
its decorator, naming each status and the codes the services behind it answer::

    @router.post("/bookings", responses=problems.declare({404: ["slot_not_found"], 409: ["slot_full"]}))

:func:`document` (the app's OpenAPI hook) adds what the gateway itself answers on
every operation from what the operation has: 400 ``invalid_request`` and 422
``unknown_parameter`` everywhere, ``invalid_channel`` on ``/v1``, 401/403 where a
token is needed, 413 where there is a body, 503/504 where a service is called.
A new route therefore declares only what its services add (and 415 where it
takes other media types than JSON)."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from grpc_status import rpc_status
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from mintong.common.v1 import common_pb2
from services.runtime.errors import title_of

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


#: A code's title, worked out once per code (the codes are the gateway's and the
#: services' own, a few hundred at most).
_title_of = functools.lru_cache(maxsize=1024)(title_of)


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
        self.title = title or _title_of(code)
        self.headers = headers or {}
        self.errors: list[dict[str, str]] = [{"field": field, "message": detail}] if field else []


class BodyTooLarge(StarletteHTTPException):
    """A body past its limit, found while it arrives (an HTTPException: FastAPI
    passes those on while it reads a body, and :func:`install` answers it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.limit = limit

    def problem(self) -> Problem:
        return Problem(
            413, "body_too_large", str(self.detail), field="body", title="Request body is too large"
        )


#: What the gateway answers without asking a service when nothing else fits.
_DEFAULT_FIELD = {429: "request"}


def problem_response(problem: Problem, request: Request) -> Response:
    return Response(
        _body(problem, request.scope),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


async def send_problem(problem: Problem, scope: Scope, send: Send) -> None:
    """The answer :func:`problem_response` gives, the same head and body, sent
    straight down ``send``: for the middlewares' own refusals, a flash crowd's 503s
    by the thousand, where a ``Request`` and a ``Response`` made for each, and
    Starlette's headers worked out again, were a fifth of a refusal's CPU in the
    gateway (decision 126)."""
    body = _body(problem, scope)
    head = [
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", _MEDIA_TYPE),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": head})
    await send({"type": "http.response.body", "body": body})


_MEDIA_TYPE = MEDIA_TYPE.encode()


def _body(problem: Problem, scope: Scope) -> bytes:
    # The request's path, without building and parsing the whole URL for it.
    instance = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    errors = tuple((e["field"], e["message"]) for e in problem.errors)
    return _rendered(
        problem.status, problem.code, problem.title, problem.detail, instance, problem.field, errors
    )


@functools.lru_cache(maxsize=1024)
def _rendered(
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    field: str | None,
    errors: tuple[tuple[str, str], ...],
) -> bytes:
    """A problem's JSON, rendered once while it is answered again and again (a
    crowd refused ``slot_full`` for the same slot, decision 84): the encoding was a
    tenth of a refusal's CPU."""
    body: dict[str, Any] = {
        "type": f"urn:mintong:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    # As Starlette's JSONResponse renders it.
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


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
            if result.field is None and result.status in _DEFAULT_FIELD:
                # A rate limit is about the requests, not one field of this one.
                result.field = _DEFAULT_FIELD[result.status]
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


def _json_error(error: Mapping[str, Any], document: Any) -> dict[str, str]:
    """Malformed JSON, placed in words a person can find: line and column."""
    position = error["loc"][1] if len(error["loc"]) > 1 else 0
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else str(document or "")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    reason = (error.get("ctx") or {}).get("error", "not JSON")
    return {"field": "body", "message": f"is not valid JSON: {reason} at line {line}, column {column}"}


#: Validation errors whose type is one of the gateway's own codes keep it.
_OWN_CODES = ("invalid_text",)


def _validation_problem(exc: RequestValidationError) -> Problem:
    found = exc.errors()
    errors = [
        _json_error(e, exc.body)
        if e["type"] == "json_invalid"
        else {"field": _field_name(tuple(e["loc"])), "message": e["msg"]}
        for e in found
    ]
    first = errors[0] if errors else {"field": "request", "message": "invalid request"}
    kind = found[0]["type"] if found else ""
    code = kind if kind in _OWN_CODES else "invalid_request"
    problem = Problem(
        400,
        code,
        f"{first['field']}: {first['message']}",
        field=first["field"],
        title="The request is invalid",
    )
    problem.errors = errors
    return problem


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at this path, from the API document (Starlette
    names only the first matching route's)."""
    paths: dict[str, Any] = app.openapi().get("paths", {})
    if request.url.path in paths:  # a path without parameters outranks templated ones
        return sorted(m.upper() for m in paths[request.url.path])
    methods: set[str] = set()
    for template, operations in paths.items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), request.url.path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


def _http_problem(app: FastAPI, request: Request, exc: StarletteHTTPException) -> Problem:
    headers = dict(exc.headers or {})
    if isinstance(exc, BodyTooLarge):
        return exc.problem()
    if exc.status_code == 404:
        return Problem(
            404, "not_found", f"Nothing is at {request.url.path}.", field="path", title="Not found"
        )
    if exc.status_code == 405:
        allowed = allowed_methods(app, request)
        headers["Allow"] = ", ".join(allowed)
        return Problem(
            405,
            "method_not_allowed",
            f"{request.method} is not served at this path; {', '.join(allowed)} are.",
            field="method",
            title="Method not allowed",
            headers=headers,
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError | ValueError):
        # FastAPI's "There was an error parsing the body": a body that is not UTF-8.
        return Problem(
            400,
            "invalid_body",
            "The body is not UTF-8 encoded JSON.",
            field="body",
            title="The body cannot be read",
        )
    return Problem(exc.status_code, "http_error", str(exc.detail), field="request", headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(_validation_problem(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return problem_response(_http_problem(app, request, exc), request)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _grpc(request: Request, exc: grpc.aio.AioRpcError) -> Response:
        return problem_response(from_grpc(exc), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(Problem(500, "internal_error", "Something went wrong on our side."), request)


# The OpenAPI document

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details, with mintong's `code` and the `field` at fault.",
    "required": ["type", "title", "status", "detail", "instance", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:mintong:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "Machine-readable; the codes each answer lists."},
        "field": {"type": "string", "description": "The field, parameter or header at fault."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_REASON = {
    400: "The request is malformed",
    401: "No valid token",
    403: "The token may not do this",
    404: "What the request names does not exist",
    405: "Method not allowed",
    409: "The state of things is in the way (it may pass later)",
    413: "The body is too large",
    415: "The body's media type is not taken",
    422: "A rule refuses the request as it is",
    429: "Too many requests (see Retry-After)",
    502: "A service behind the gateway failed",
    503: "Overloaded or a service is unavailable (see Retry-After)",
    504: "A service did not answer in time",
}

#: Where an operation's problems are kept until :func:`document` merges them.
_DECLARED = "x-mintong-problems"


def declare(problems: Mapping[int, Iterable[str]]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status it can answer and its codes."""
    return {
        status: {"description": _REASON.get(status, "Problem"), _DECLARED: list(codes)}
        for status, codes in problems.items()
    }


def _add(responses: dict[str, Any], status: int, codes: Iterable[str]) -> None:
    entry = responses.setdefault(str(status), {"description": _REASON.get(status, "Problem")})
    known: list[str] = entry.pop(_DECLARED, [])
    previous = entry.get("content", {}).get(MEDIA_TYPE, {}).get("schema", {}).get("properties", {})
    listed = list(dict.fromkeys([*previous.get("code", {}).get("examples", []), *known, *codes]))
    reason = (entry.get("description") or _REASON.get(status, "Problem")).split(": `")[0].rstrip(".")
    entry["description"] = reason + ": " + ", ".join(f"`{c}`" for c in listed) + "."
    entry["content"] = {
        MEDIA_TYPE: {
            "schema": {
                "allOf": [{"$ref": "#/components/schemas/Problem"}],
                "properties": {"code": {"type": "string", "examples": listed}},
            }
        }
    }


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation's problem answers, as the gateway really gives them."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                del responses["422"]  # FastAPI's default: the gateway answers 400 problems instead
            declared = {s: r.get(_DECLARED, []) for s, r in responses.items() if _DECLARED in r}
            for status, codes in declared.items():
                _add(responses, int(status), codes)
            for status in [s for s, r in responses.items() if s[0] in "45" and "content" not in r]:
                _add(responses, int(status), [])  # described by hand: still a problem
            api = path.startswith("/v1/")
            _add(responses, 400, ["invalid_request", "invalid_text", "invalid_body"])
            _add(responses, 422, ["unknown_parameter"])
            if api and not path.startswith("/v1/providers/"):
                _add(responses, 400, ["invalid_channel"])
            if operation.get("security"):
                _add(responses, 401, ["unauthenticated", "token_invalid", "session_ended"])
                _add(responses, 403, ["forbidden", "wrong_channel"])
                # The gateway checks tokens itself, once it has read the revoked sessions.
                _add(responses, 503, ["sessions_unavailable"])
            if "requestBody" in operation:
                _add(responses, 413, ["body_too_large"])
            if api:
                _add(responses, 503, ["overloaded", "service_unavailable"])
                _add(responses, 504, ["service_timeout"])
            operation["responses"] = dict(sorted(responses.items()))
    return schema
