"""The web pages (gateway/web/): static files served at ``/`` under a strict
Content-Security-Policy.

The pages are plain HTML, JS modules and CSS with no build step; they call only the
public ``/v1`` API, as an APP or WeChat frontend does (decision 50). The policy
allows scripts, styles, images and API calls from this origin only: no inline
script or style, no eval, no framing, so an injected string can never run."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

WEB_DIR = Path(__file__).parent / "web"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: a reviewer's view of a document fetched with the staff token.
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Geolocation for "offices near me" from this origin only; nothing else.
    "permissions-policy": "geolocation=(self), camera=(), microphone=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


class Pages(StaticFiles):
    """StaticFiles with the pages' security headers on every answer (404s too), and
    ``no-cache`` so a new release is picked up at once (revalidated by ETag)."""

    def __init__(self) -> None:
        # A module script must come as JavaScript (nosniff): a slim image without
        # /etc/mime.types may not know .mjs, and .svg for the icon.
        mimetypes.add_type("text/javascript", ".js")
        mimetypes.add_type("text/javascript", ".mjs")
        mimetypes.add_type("image/svg+xml", ".svg")
        super().__init__(directory=WEB_DIR, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/v1" or scope["path"].startswith("/v1/"):
            # An unknown API path stays the API's 404 (problem+json), never a page;
            # a known one asked with another method its 405 (the router tried this
            # mount because the mount matches every method).
            known = any(route.matches(scope)[0] is Match.PARTIAL for route in scope["app"].router.routes)
            raise HTTPException(status_code=405 if known else 404)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                headers.append((b"cache-control", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, with_headers)
