"""One citizen on every channel: the bindings of WeChat openids and APP devices
to a citizen, the proof a device gives to sign in, and the assurance levels face
verification raises a session to."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from services.runtime.errors import InvalidArgument


class BindingKind(enum.Enum):
    WECHAT = "wechat"  # an openid of one city's official account
    APP_DEVICE = "app"  # a device of the APP, holding an Ed25519 private key

    @property
    def channel(self) -> str:
        """The only channel a binding of this kind signs in on: an openid proves
        nothing on the APP, a device key nothing inside WeChat."""
        return self.value


@dataclass(frozen=True)
class Binding:
    id: str
    citizen_id: str
    kind: BindingKind
    city_code: str  # "" for devices
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    public_key: bytes = b""  # devices only
    #: Whether identity keeps the bound openid or device id (sealed) for notify: not
    #: for a binding made before it did, until its next sign-in stores it.
    subject_kept: bool = True


@dataclass(frozen=True)
class DeviceChallenge:
    nonce: str
    device_lookup: str
    expires_at: dt.datetime
    used_at: dt.datetime | None


#: A citizen's bindings, all kinds together: enough for a phone, a tablet and a few
#: cities' official accounts; a bound on what one stolen session can add.
MAX_BINDINGS = 10

_DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_CITY = re.compile(r"[a-z0-9_-]{1,64}")

#: What a device signs: a fixed prefix (so the signature means nothing in any other
#: protocol), the server's single-use nonce (freshness) and the device id.
DEVICE_SIGNIN_PREFIX = "mintong-device-signin/v1"


def device_message(nonce: str, device_id: str) -> bytes:
    return f"{DEVICE_SIGNIN_PREFIX}\n{nonce}\n{device_id}".encode()


def device_id(raw: str) -> str:
    if not _DEVICE_ID.fullmatch(raw):
        raise InvalidArgument(
            "invalid_device_id",
            "A device id is 8 to 128 letters, digits or . _ : -",
            field="device_id",
        )
    return raw


def city_code(raw: str) -> str:
    if not _CITY.fullmatch(raw):
        raise InvalidArgument("invalid_city", "Name the city by its code, e.g. haikou.", field="city")
    return raw


class Assurance(enum.Enum):
    OTP = "otp"  # real-name sign-in (or one step through a binding made under it)
    FACE = "face"  # and a recent face match against the resident's ID photo


@dataclass(frozen=True)
class FacePolicy:
    """How long a face match counts, and how many failed comparisons a day."""

    lasts: dt.timedelta = dt.timedelta(minutes=15)
    failures_per_day: int = 3


@dataclass(frozen=True)
class Alternative:
    """What a citizen who declines face recognition does instead."""

    kind: str
    business_code: str
    city_code: str
    detail: str


#: The catalogue's business for replacing an ID card at a window (deploy/demo/catalogue.yaml:
#: ID_CARD_RENEWAL covers renewal and replacement of a lost or damaged card in every city).
WINDOW_REPLACEMENT_BUSINESS = "ID_CARD_RENEWAL"


def window_alternative(city: str) -> Alternative:
    return Alternative(
        kind="window_appointment",
        business_code=WINDOW_REPLACEMENT_BUSINESS,
        city_code=city,
        detail=(
            "Without face verification the ID card is replaced at a window: book an appointment "
            "for ID card renewal and replacement; your photo and fingerprints are taken there."
        ),
    )
