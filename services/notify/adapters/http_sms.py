"""An SMS gateway reached over HTTP: one signed JSON POST per message.

``HttpSmsProvider`` implements the notify ``Provider`` port. It turns the gateway's
answer into ``Accepted`` (the gateway took the message; a delivery receipt follows
later), ``Permanent`` (resending the same request cannot help: fall back to another
channel) or ``Retryable`` (try again after a back-off). The wire format is described
in docs/sms-provider.md.

Requests are signed with HMAC-SHA256 over ``"<timestamp>.<raw body>"``; ``sign`` and
``verify`` are module-level so the gateway's receipt endpoint can check the
provider's receipts, which are signed the same way.

Phone numbers and message texts are personal data (texts may hold one-time codes):
they go into the request body and nowhere else — never into a reason, an exception
message or a log line. Reasons name the HTTP status and the provider's error code.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import httpx

from services.notify.domain.model import Channel
from services.notify.domain.providers import Accepted, Outgoing, Permanent, Retryable
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

KEY_ID_HEADER = "X-Mintong-Key-Id"

#: The request itself is wrong (bad number, bad credentials, refused content):
#: sending it again unchanged gets the same answer.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 409, 410, 422})
#: The gateway is busy, slow or down: the same request may well pass later.
RETRYABLE_STATUSES = frozenset({408, 425, 429})

#: What a provider error may look like to be quoted in a reason: a short code.
#: Free text is dropped because gateways like to echo the number they refused.
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
#: A run of this many digits inside a "code" may be a phone or ID number.
_LONG_DIGITS = re.compile(r"\d{6,}")


class HttpSmsProvider:
    """Sends SMS through an HTTP gateway at ``url``; see the module docstring."""

    name = "http_sms"
    channel = Channel.SMS

    def __init__(
        self,
        *,
        url: str,
        key_id: str,
        secret: bytes,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        # Refuse a misconfigured URL at start-up rather than as a failure on every message.
        if httpx.URL(url).scheme not in ("http", "https"):
            raise ValueError("the SMS gateway URL must be http:// or https://")
        self.url = url
        self.key_id = key_id
        self._secret = secret
        self.timeout = timeout
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP client if this provider made it; a client passed in belongs
        to the caller."""
        if self._own_client:
            await self._client.aclose()

    async def send(self, outgoing: Outgoing) -> Accepted:
        timestamp = str(int(time.time()))
        payload = {
            # Stable across retries of one delivery, so the gateway can deduplicate a
            # message whose first attempt it accepted but whose answer we never saw.
            "message_id": outgoing.delivery_id,
            "to": outgoing.to,
            "text": outgoing.body,
            # The same instant as the signed timestamp, so the two never disagree.
            "sent_at": dt.datetime.fromtimestamp(int(timestamp), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        # Serialised once and sent as these very bytes: the signature covers the raw body.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            KEY_ID_HEADER: self.key_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            # Per request, so both also hold on a client passed in: a redirect would carry the
            # message and its number to an address nobody configured; its timeout may be longer.
            response = await self._client.post(
                self.url, content=body, headers=headers, timeout=self.timeout, follow_redirects=False
            )
        except httpx.TimeoutException as exc:
            # The gateway may have taken the message; the retry carries the same message_id.
            raise Retryable(f"{self.name}: timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # httpx's messages name the failure and the gateway, never the request body.
            raise Retryable(f"{self.name}: connection failed ({type(exc).__name__})") from exc
        return self._answer(response, outgoing)

    def _answer(self, response: httpx.Response, outgoing: Outgoing) -> Accepted:
        status = response.status_code
        if 200 <= status < 300:
            provider_ref = _json_field(response, "id")
            if provider_ref is None:
                # Perhaps accepted, perhaps not: retrying is safe because the gateway deduplicates.
                raise Retryable(f"{self.name}: HTTP {status}, malformed answer (no id)")
            return Accepted(provider_ref=provider_ref, delivered=False)
        reason = f"{self.name}: HTTP {status}"
        if code := _error_code(response, outgoing):
            reason += f" {code}"
        if status in PERMANENT_STATUSES:
            raise Permanent(reason)
        if status in RETRYABLE_STATUSES or status >= 500:
            raise Retryable(reason)
        # Any other 4xx is still the client's fault, so resending cannot help; anything
        # else (1xx, an unfollowed 3xx) is a gateway or configuration oddity that may pass.
        if 400 <= status < 500:
            raise Permanent(reason)
        raise Retryable(reason)


def _json_field(response: httpx.Response, key: str) -> str | None:
    """A non-empty string at ``key`` of a JSON object body, else None."""
    try:
        data = response.json()
    except ValueError:  # not JSON (json.JSONDecodeError) or not UTF-8 (UnicodeDecodeError)
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _error_code(response: httpx.Response, outgoing: Outgoing) -> str | None:
    """The provider's ``{"error": "..."}`` when it looks like a code and cannot be
    carrying the number or the text; else None."""
    code = _json_field(response, "error")
    if code is None or not _ERROR_CODE.fullmatch(code) or _LONG_DIGITS.search(code):
        return None
    if outgoing.to in code or (outgoing.body and outgoing.body in code):
        return None
    return code
