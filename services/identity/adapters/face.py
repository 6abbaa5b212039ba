"""Face-verification providers (service_layer/channel_ports.py FaceVerifier).

The real provider is an outside service (a liveness SDK on the device, and a server
API comparing its capture with the photo of the ID card register); its adapter is
to be written against the contract the bureau signs. ``SandboxFaceVerifier`` stands
in for it in development and tests, and is never presented as real: its references
begin ``sandbox-``. ``FaceVerificationOff`` is what production runs until the real
adapter exists (MINTONG_FACE_PROVIDER=off, docs/decisions.md): it compares nothing.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from services.identity.service_layer.channel_ports import FaceOutcome, ProviderUnavailable
from services.runtime.errors import Kind, ProblemError

Outcome = Literal["match", "no_match", "provider_error"]


@dataclass(frozen=True)
class FaceRequest:
    id_number: str
    name: str
    liveness_token: str


@dataclass
class SandboxFaceVerifier:
    """Answers with the outcomes a test queued (``script``), else by the liveness
    token, so a developer can try each path by hand: a token beginning
    ``no-match`` does not match, ``provider-error`` fails as if the provider were
    down, anything else matches. ``requests`` records every comparison asked for.
    It keeps what it records in memory only, and logs nothing."""

    requests: list[FaceRequest] = field(default_factory=list)
    outcomes: deque[Outcome] = field(default_factory=deque)

    def script(self, *outcomes: Outcome) -> None:
        self.outcomes.extend(outcomes)

    async def compare(self, *, id_number: str, name: str, liveness_token: str) -> FaceOutcome:
        self.requests.append(FaceRequest(id_number, name, liveness_token))
        if self.outcomes:
            outcome = self.outcomes.popleft()
        elif liveness_token.startswith("no-match"):
            outcome = "no_match"
        elif liveness_token.startswith("provider-error"):
            outcome = "provider_error"
        else:
            outcome = "match"
        if outcome == "provider_error":
            raise ProviderUnavailable(
                "face_provider_unavailable", "Face verification is unavailable; try again."
            )
        ref = "sandbox-" + hashlib.sha256(f"{len(self.requests)}:{liveness_token}".encode()).hexdigest()[:16]
        return FaceOutcome(matched=outcome == "match", provider_ref=ref)


class FaceVerificationOff:
    """No face provider: every comparison is refused (404, as for a route this
    deployment does not offer), so no session reaches assurance level "face"."""

    async def compare(self, *, id_number: str, name: str, liveness_token: str) -> FaceOutcome:
        raise ProblemError(
            "face_verification_off",
            "Face verification is not offered here; book a window appointment instead.",
            title="Face verification is not offered",
            kind=Kind.NOT_FOUND,
        )
