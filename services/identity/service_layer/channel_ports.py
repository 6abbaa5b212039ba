"""The ports channel binding, one-step sign-in and face verification run on: the
store (identity's own, with the tables of bindings), WeChat's OAuth, device
signatures and the face-verification provider."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from services.identity.domain.channels import Binding, BindingKind, DeviceChallenge
from services.identity.service_layer.ports import Store


class ProviderUnavailable(Exception):
    """An outside provider failed in a way worth retrying later (network, busy,
    5xx): the citizen is told to try again, and nothing is counted against them."""

    def __init__(self, code: str, detail: str, retry_after: int = 30) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


class ChannelStore(Store, Protocol):
    async def binding_by_subject(self, kind: BindingKind, city: str, lookup: str) -> Binding | None:
        """The binding of an openid (per city) or device, by the keyed hash of it."""
        ...

    async def bindings_of(self, citizen_id: str) -> list[Binding]: ...
    async def add_binding(self, binding: Binding, lookup: str, subject: str) -> None:
        """Raises Conflict when another request bound the same subject first. The
        subject (openid, device id) is kept sealed: notify's address for the citizen."""
        ...

    async def keep_subject(self, binding_id: str, subject: str) -> bool:
        """Store the sealed subject of a binding made before subjects were kept;
        True if it was missing (the citizen's contacts changed)."""
        ...

    async def update_device_key(self, binding_id: str, public_key: bytes, label: str) -> None: ...
    async def remove_binding(self, binding_id: str, citizen_id: str, at: dt.datetime) -> Binding | None:
        """Delete the citizen's binding and end the sessions it opened; None if the
        citizen has no binding of that id."""
        ...

    async def binding_used(self, binding_id: str, session_id: str, at: dt.datetime) -> None:
        """Note the sign-in, and that the session came through the binding."""
        ...

    async def add_device_challenge(self, challenge: DeviceChallenge, at: dt.datetime) -> None: ...
    async def spend_device_challenge(self, nonce: str, at: dt.datetime) -> DeviceChallenge | None:
        """Mark the challenge used and return it as it was; None if unknown or
        already used (by this or another request)."""
        ...

    async def add_face_attempt(
        self, *, citizen_id: str, session_id: str, matched: bool, provider_ref: str, at: dt.datetime
    ) -> None: ...
    async def face_failures_since(self, citizen_id: str, since: dt.datetime) -> list[dt.datetime]:
        """When each failed comparison since then was, oldest first."""
        ...

    async def last_face_match(self, session_id: str) -> dt.datetime | None: ...


class ChannelUnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[ChannelStore]: ...
    def read(self) -> AbstractAsyncContextManager[ChannelStore]: ...


class WeChatOAuth(Protocol):
    async def exchange(self, city: str, code: str) -> str:
        """The openid of the WeChat user behind ``code`` on ``city``'s official
        account. Raises a ProblemError for a code WeChat refuses (wrong, used,
        expired) or a city without an account, ProviderUnavailable otherwise."""
        ...


class DeviceKeys(Protocol):
    def check_public_key(self, raw: bytes) -> None:
        """Raises a ProblemError (field public_key) unless ``raw`` is a usable key."""
        ...

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> bool: ...


@dataclass(frozen=True)
class FaceOutcome:
    matched: bool
    #: The provider's reference of the comparison, for an auditor to ask them about it.
    provider_ref: str


class FaceVerifier(Protocol):
    async def compare(self, *, id_number: str, name: str, liveness_token: str) -> FaceOutcome:
        """Compare the live capture behind ``liveness_token`` with the ID photo of
        the resident (the provider holds or fetches it by ID number and name).
        Raises ProviderUnavailable when no answer could be had; a token the
        provider refuses (forged, stale, failed liveness) is a no-match."""
        ...
