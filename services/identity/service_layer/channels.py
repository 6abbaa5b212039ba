"""One citizen on every channel. A citizen signed in with real-name authentication
binds the WeChat user of a city's official account (proven by a WeChat OAuth code,
never a bare openid) or an APP device (its Ed25519 public key); afterwards that
WeChat user signs in on the WeChat channel, and that device on the APP channel, in
one step, as the same citizen, with the same tokens as a real-name sign-in.

A device proves itself by signing a single-use nonce the service handed out a
minute before (device_message in the domain); a nonce is spent by the first attempt,
right or wrong, so a captured signature can never be replayed.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import replace

from services.identity.domain.channels import (
    MAX_BINDINGS,
    Binding,
    BindingKind,
    DeviceChallenge,
    city_code,
    device_id,
    device_message,
)
from services.identity.service_layer.auth import CLIENT_ADDRESS, Auth, TooMany
from services.identity.service_layer.channel_ports import (
    ChannelStore,
    ChannelUnitOfWork,
    DeviceKeys,
    WeChatOAuth,
)
from services.identity.service_layer.ports import Claims, Sealer
from services.runtime.clock import Clock
from services.runtime.errors import Conflict, InvalidArgument, Kind, NotFound, ProblemError

Tokens = tuple[Claims, str, int, str]

CHALLENGE_LIFETIME = dt.timedelta(seconds=60)
CHALLENGES_PER_ADDRESS_PER_HOUR = 60
CHALLENGES_PER_DEVICE_PER_HOUR = 20
# What this service hands out (secrets.token_urlsafe, uuid4): anything else is unknown
# before it reaches the database (PostgreSQL refuses NUL characters outright).
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BINDING_ID = re.compile(r"[0-9a-f-]{36}")


def _wrong_channel(detail: str) -> ProblemError:
    return ProblemError("wrong_channel", detail, field="X-Mintong-Channel", kind=Kind.FORBIDDEN)


def _device_refused() -> ProblemError:
    # One answer for every way a device sign-in fails: nothing to learn from the difference.
    return ProblemError(
        "device_signin_invalid",
        "The nonce is unknown, expired or used, or the signature does not match a bound device; "
        "ask for a new challenge.",
        field="signature",
        kind=Kind.UNAUTHENTICATED,
    )


def _code(raw: str) -> str:
    code = raw.strip()
    if not code or len(code) > 256 or not code.isprintable():
        raise InvalidArgument("invalid_code", "Give the code of WeChat's OAuth redirect.", field="code")
    return code


class Channels:
    def __init__(
        self,
        uow: ChannelUnitOfWork,
        auth: Auth,
        sealer: Sealer,
        wechat: WeChatOAuth,
        keys: DeviceKeys,
        *,
        clock: Clock,
        challenge_lifetime: dt.timedelta = CHALLENGE_LIFETIME,
    ) -> None:
        self.uow = uow
        self.auth = auth
        self.sealer = sealer
        self.wechat = wechat
        self.keys = keys
        self.clock = clock
        self.challenge_lifetime = challenge_lifetime

    def _lookup(self, kind: BindingKind, city: str, subject: str) -> str:
        return self.sealer.lookup(f"binding:{kind.value}:{city}:{subject}")

    async def _signed_in(self, access_token: str, channel: str, kind: BindingKind) -> Claims:
        claims = await self.auth.authenticate(access_token, channel)
        # WeChat's OAuth code only exists inside WeChat, and the device key in the APP:
        # binding from the channel itself keeps a stolen web session from adding them.
        if claims.channel != kind.channel:
            raise _wrong_channel(f"Bind this from the {kind.channel} channel, signed in there.")
        return claims

    async def bind_wechat(
        self, access_token: str, channel: str, city: str, code: str
    ) -> tuple[Binding, bool]:
        claims = await self._signed_in(access_token, channel, BindingKind.WECHAT)
        city = city_code(city)
        openid = await self.wechat.exchange(city, _code(code))
        return await self._bind(
            claims, BindingKind.WECHAT, city, openid, public_key=b"", label="", field="code"
        )

    async def bind_device(
        self, access_token: str, channel: str, raw_device_id: str, public_key: bytes, label: str
    ) -> tuple[Binding, bool]:
        claims = await self._signed_in(access_token, channel, BindingKind.APP_DEVICE)
        device = device_id(raw_device_id)
        self.keys.check_public_key(public_key)
        label = label.strip()
        if len(label) > 64 or not label.isprintable():
            raise InvalidArgument("invalid_label", "A label of at most 64 characters.", field="label")
        return await self._bind(
            claims, BindingKind.APP_DEVICE, "", device, public_key=public_key, label=label, field="device_id"
        )

    async def _bind(
        self,
        claims: Claims,
        kind: BindingKind,
        city: str,
        subject: str,
        *,
        public_key: bytes,
        label: str,
        field: str,
    ) -> tuple[Binding, bool]:
        now = self.clock()
        lookup = self._lookup(kind, city, subject)
        actor = f"citizen:{claims.citizen_id}"
        async with self.uow.write() as store:
            existing = await store.binding_by_subject(kind, city, lookup)
            if existing is not None:
                if existing.citizen_id != claims.citizen_id:
                    what = "WeChat account" if kind is BindingKind.WECHAT else "device"
                    raise Conflict(
                        "already_bound",
                        f"This {what} is bound to another citizen; that citizen must remove it first.",
                        field=field,
                    )
                if kind is BindingKind.APP_DEVICE and (existing.public_key, existing.label) != (
                    public_key,
                    label,
                ):
                    # The same citizen re-registering the device (the APP was reinstalled).
                    await store.update_device_key(existing.id, public_key, label)
                    await store.audit(
                        actor=actor,
                        action="binding.rekey",
                        subject=actor,
                        detail={
                            "binding_id": existing.id,
                            "kind": kind.value,
                            "session_id": claims.session_id,
                        },
                    )
                    existing = replace(existing, public_key=public_key, label=label)
                if not existing.subject_kept and await store.keep_subject(existing.id, subject):
                    await store.contacts_changed([claims.citizen_id])
                return existing, False
            if len(await store.bindings_of(claims.citizen_id)) >= MAX_BINDINGS:
                raise Conflict(
                    "too_many_bindings",
                    f"At most {MAX_BINDINGS} bindings; remove one you no longer use.",
                    field=field,
                )
            binding = Binding(str(uuid.uuid4()), claims.citizen_id, kind, city, label, now, None, public_key)
            await store.add_binding(binding, lookup, subject)
            await store.contacts_changed([claims.citizen_id])
            await store.audit(
                actor=actor,
                action="binding.add",
                subject=actor,
                detail={
                    "binding_id": binding.id,
                    "kind": kind.value,
                    "city": city,
                    "session_id": claims.session_id,
                },
            )
        return binding, True

    async def list_bindings(self, access_token: str, channel: str) -> list[Binding]:
        claims = await self.auth.authenticate(access_token, channel)
        async with self.uow.read() as store:
            return await store.bindings_of(claims.citizen_id)

    async def remove_binding(self, access_token: str, channel: str, binding_id: str) -> None:
        claims = await self.auth.authenticate(access_token, channel)
        actor = f"citizen:{claims.citizen_id}"
        if not _BINDING_ID.fullmatch(binding_id):
            raise NotFound("binding", binding_id[:64], field="binding_id")
        async with self.uow.write() as store:
            # Only among the citizen's own: someone else's binding is as absent as a made-up id.
            removed = await store.remove_binding(binding_id, claims.citizen_id, self.clock())
            if removed is None:
                raise NotFound("binding", binding_id[:64], field="binding_id")
            await store.contacts_changed([claims.citizen_id])
            await store.audit(
                actor=actor,
                action="binding.remove",
                subject=actor,
                detail={
                    "binding_id": removed.id,
                    "kind": removed.kind.value,
                    "city": removed.city_code,
                    "session_id": claims.session_id,
                },
            )

    async def sign_in_with_wechat(self, city: str, code: str, channel: str) -> Tokens:
        if channel != BindingKind.WECHAT.channel:
            raise _wrong_channel("WeChat sign-in works on the WeChat channel only.")
        city = city_code(city)
        openid = await self.wechat.exchange(city, _code(code))
        now = self.clock()
        async with self.uow.write() as store:
            binding = await store.binding_by_subject(
                BindingKind.WECHAT, city, self._lookup(BindingKind.WECHAT, city, openid)
            )
            if binding is None:
                raise ProblemError(
                    "not_bound",
                    "This WeChat account is not bound to a citizen yet: sign in with your ID number "
                    "and a one-time code, then bind it.",
                    field="code",
                    kind=Kind.UNAUTHENTICATED,
                )
            return await self._open(store, binding, openid, now)

    async def _open(self, store: ChannelStore, binding: Binding, subject: str, now: dt.datetime) -> Tokens:
        result = await self.auth.open_session(store, binding.citizen_id, binding.kind.channel, now)
        await store.binding_used(binding.id, result[0].session_id, now)
        # A binding made before identity kept subjects: its sign-in gives notify the
        # address. Only then: sealing and writing on every sign-in would cost for nothing.
        if not binding.subject_kept and await store.keep_subject(binding.id, subject):
            await store.contacts_changed([binding.citizen_id])
        return result

    async def create_device_challenge(
        self, raw_device_id: str, channel: str, address: str
    ) -> tuple[str, int]:
        """A nonce for the device to sign, and its lifetime in seconds. Made for any
        well-formed device id, bound or not: the answer does not tell which."""
        if channel != BindingKind.APP_DEVICE.channel:
            raise _wrong_channel("Device sign-in works on the APP channel only.")
        device = device_id(raw_device_id)
        lookup = self._lookup(BindingKind.APP_DEVICE, "", device)
        now = self.clock()
        hour = now - dt.timedelta(hours=1)
        async with self.uow.write() as store:
            for key, limit, field in (
                (f"device:{lookup}", CHALLENGES_PER_DEVICE_PER_HOUR, "device_id"),
                (f"device-address:{address}", CHALLENGES_PER_ADDRESS_PER_HOUR, CLIENT_ADDRESS),
            ):
                count, _ = await store.count_rate(key, hour)
                if count >= limit:
                    raise TooMany("Too many sign-in challenges; try again later.", 3600, field=field)
                await store.add_rate(key, now)
            nonce = secrets.token_urlsafe(32)
            await store.add_device_challenge(
                DeviceChallenge(nonce, lookup, now + self.challenge_lifetime, None), now
            )
        return nonce, int(self.challenge_lifetime.total_seconds())

    async def sign_in_with_device(
        self, raw_device_id: str, nonce: str, signature: bytes, channel: str
    ) -> Tokens:
        if channel != BindingKind.APP_DEVICE.channel:
            raise _wrong_channel("Device sign-in works on the APP channel only.")
        device = device_id(raw_device_id)
        if not _NONCE.fullmatch(nonce):
            raise _device_refused()
        lookup = self._lookup(BindingKind.APP_DEVICE, "", device)
        now = self.clock()
        async with self.uow.write() as store:
            challenge = await store.spend_device_challenge(nonce, now)
            if challenge is not None and challenge.device_lookup == lookup and challenge.expires_at > now:
                binding = await store.binding_by_subject(BindingKind.APP_DEVICE, "", lookup)
                if binding is not None and self.keys.verify(
                    binding.public_key, signature, device_message(nonce, device)
                ):
                    return await self._open(store, binding, device, now)
        raise _device_refused()  # after the commit, so that the nonce stays spent
