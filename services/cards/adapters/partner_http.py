"""What the HTTP adapters to the card production centre and the courier share: each
request signed as our SMS requests are (``X-Mintong-Key-Id``, ``-Timestamp``,
``-Signature``: HMAC-SHA256 over ``"<timestamp>.<raw body>"``, services/runtime/
signing.py), an ``Idempotency-Key`` on every create, retries of what may pass
(timeouts, connection failures, 408/425/429/5xx) a few times with the same key and
body, and answers read into :class:`ExternalUnavailable` (try later, same key) or
:class:`PartnerRefused` (the request itself is wrong: sending it again cannot help).

Bodies carry personal data (names, ID numbers, phones, addresses) and go nowhere
else: nothing here logs a body, and a reason names only the partner, the status,
the kind of transport failure and the partner's error code when it looks like one."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.cards.service_layer.ports import ExternalUnavailable
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

KEY_ID_HEADER = "X-Mintong-Key-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"

#: A partner's error code as we quote it: short, a letter first, no long digit run
#: (partners like to echo the ID number or phone they refused).
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
_LONG_DIGITS = re.compile(r"\d{6,}")
_RETRYABLE = frozenset({408, 425, 429})


class PartnerRefused(Exception):
    """The partner refused the request for good (a 4xx but 408/425/429): our request,
    or our configuration (credentials, URL), is wrong. ``status`` and ``code`` (the
    partner's error code, or "") say how; the message never holds personal data."""

    def __init__(self, partner: str, status: int, code: str) -> None:
        super().__init__(f"{partner}: HTTP {status}" + (f" {code}" if code else ""))
        self.partner = partner
        self.status = status
        self.code = code


class SignedClient:
    """Signed JSON requests to one partner at ``base_url``."""

    def __init__(
        self,
        partner: str,
        *,
        base_url: str,
        key_id: str,
        secret: bytes,
        timeout: float,
        attempts: int,
        client: httpx.AsyncClient | None,
    ) -> None:
        # A misconfigured URL is refused at start-up, not on every request.
        if httpx.URL(base_url).scheme not in ("http", "https"):
            raise ValueError(f"the {partner} URL must be http:// or https://")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.partner = partner
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self._secret = secret
        self.timeout = timeout
        self.attempts = attempts
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP client if this made it; one passed in is the caller's."""
        if self._own_client:
            await self._client.aclose()

    async def call(
        self, method: str, path: str, *, payload: Any = None, idempotency_key: str | None = None
    ) -> tuple[int, Any]:
        """The status and JSON answer (None when there is none) of a 2xx or 404;
        ``PartnerRefused`` for another 4xx; ``ExternalUnavailable`` when every
        attempt timed out, failed to connect or got 408/425/429/5xx/1xx/3xx."""
        # Serialised once: every attempt sends these very bytes under the same key.
        body = (
            b""
            if payload is None
            else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        )
        response: httpx.Response | None = None
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.2, max=2),
            retry=retry_if_exception_type(ExternalUnavailable),
            reraise=True,  # the last attempt's ExternalUnavailable, not tenacity's RetryError
        ):
            with attempt:
                response = await self._send(method, path, body, idempotency_key)
        assert response is not None
        status = response.status_code
        if 200 <= status < 300 or status == 404:
            return status, _json(response)
        raise PartnerRefused(self.partner, status, _error_code(response))

    async def _send(self, method: str, path: str, body: bytes, idempotency_key: str | None) -> httpx.Response:
        timestamp = str(int(time.time()))  # signed anew on every attempt
        headers = {
            KEY_ID_HEADER: self.key_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        if body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        try:
            # No redirects: one would carry personal data to an address nobody configured.
            response = await self._client.request(
                method,
                self.base_url + path,
                content=body,
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            # The partner may have taken it: the retry carries the same idempotency key.
            raise ExternalUnavailable(f"{self.partner}: timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise ExternalUnavailable(f"{self.partner}: connection failed ({type(exc).__name__})") from exc
        status = response.status_code
        if status >= 500 or status in _RETRYABLE or status < 200 or 300 <= status < 400:
            reason = f"{self.partner}: HTTP {status}"
            if code := _error_code(response):
                reason += f" {code}"
            raise ExternalUnavailable(reason)
        return response


class SignedPartner:
    """What each partner's adapter is built from: its name and a ``SignedClient``."""

    NAME = ""

    def __init__(
        self,
        *,
        url: str,
        key_id: str,
        secret: bytes,
        timeout: float = 10.0,
        attempts: int = 3,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.http = SignedClient(
            self.NAME,
            base_url=url,
            key_id=key_id,
            secret=secret,
            timeout=timeout,
            attempts=attempts,
            client=client,
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # not JSON, or not UTF-8
        return None


def _error_code(response: httpx.Response) -> str:
    data = _json(response)
    code = data.get("error") if isinstance(data, dict) else None
    if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code) or _LONG_DIGITS.search(code):
        return ""
    return code


def malformed(partner: str, what: str) -> ExternalUnavailable:
    """A 2xx answer we cannot read: perhaps taken, perhaps not; the retry with the
    same idempotency key settles it."""
    return ExternalUnavailable(f"{partner}: malformed answer ({what})")
