"""A lost ID card replaced end to end on the platform as `make up` runs it: real
identity (the register's card), the cards service on its sandbox production centre
and sandbox courier, the courier's signed callbacks through the real gateway, and
notify's SMS sandbox. 张伟 (a demo resident), signed in by OTP, passes face
verification, is told he may apply for id_card_lost, applies with mail delivery; the
old card is reported lost at once, the timeline reaches delivered, the register holds
the new card, and the SMS sandbox holds the received, shipped (with the tracking
number) and delivered messages. Nothing of him is in clear in any file or output.

The make-up test (tests/e2e/test_processes.py) walks it on its own platform, which
has these sandbox delays: a launch of its own cost the suite tens of seconds of CPU,
and the journey's waits overlap that test's other steps (decision 90)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import wait_for

ID_NUMBER = "410105198503121235"
PHONE = "13800138001"
ADDRESS = "河南省郑州市金水区经三路1号"
#: What must never be in clear in a file or an output of the platform.
IN_CLEAR = (ID_NUMBER, PHONE, "经三路1号")
# Short sandbox delays so the journey takes seconds. Production is slow enough
# that the register is seen holding the lost card before the new one is recorded.
JOURNEY = {
    "MINTONG_CARDS_SANDBOX_PRODUCTION_SECONDS": "8",
    "MINTONG_CARDS_SANDBOX_COURIER_SECONDS": "1",
    "MINTONG_CARDS_JOURNEY_SECONDS": "0.5",
}


def apply(url: str, citizen: dict[str, str]) -> dict[str, Any]:
    """From the register's valid card to an approved application, the old card
    reported lost at once; the application as answered."""
    me = httpx.get(f"{url}/v1/me", headers=citizen).json()
    assert me["card_status"] == "valid" and me["card_expires_on"] == "2042-05-20", me

    # Without face verification he is told so, with the window as the alternative.
    eligibility = f"{url}/v1/card-applications/eligibility"
    wanted = {"kind": "id_card_lost", "appearance_unchanged": "true"}
    before = httpx.get(eligibility, params=wanted, headers=citizen).json()
    assert not before["eligible"] and before["alternatives"], before
    verified = httpx.post(f"{url}/v1/me/face-verification", json={"liveness_token": "live"}, headers=citizen)
    assert verified.status_code == 200 and verified.json()["assurance_level"] == "face", verified.text
    may = httpx.get(eligibility, params=wanted, headers=citizen).json()
    assert may["eligible"] and may["reasons"] == [], may

    applied = httpx.post(
        f"{url}/v1/card-applications",
        json={
            "kind": "id_card_lost",
            "appearance_unchanged": True,
            "delivery": {"method": "mail", "recipient": "张伟", "phone": PHONE, "address": ADDRESS},
        },
        headers={**citizen, "Idempotency-Key": "walk-lost-card"},
    )
    assert applied.status_code == 201, applied.text
    application: dict[str, Any] = applied.json()
    assert application["status"] == "approved", application
    assert application["delivery"]["phone_masked"] == "138****8001"
    # The lost card is reported to the register at once, before any card is made.
    assert httpx.get(f"{url}/v1/me", headers=citizen).json()["card_status"] == "reported_lost"
    return application


def assert_delivered(
    url: str, citizen: dict[str, str], application: dict[str, Any], texts: Callable[[], list[str]]
) -> None:
    """The application reaches delivered, the register holds the new card, and
    ``texts`` (the SMS sandbox's bodies for his phone) the journey's three messages."""

    def delivered() -> dict[str, Any] | None:
        found = httpx.get(f"{url}/v1/card-applications/{application['id']}", headers=citizen).json()
        return found if found["status"] == "delivered" else None

    done = wait_for(delivered, within=120.0)
    assert done is not None, "the application never reached delivered"
    steps = [step["to_status"] for step in done["timeline"]]
    assert steps == [
        "submitted",
        "checks_passed",
        "approved",
        "in_production",
        "produced",
        "shipped",
        "delivered",
    ], steps
    tracking = done["delivery"]["tracking_number"]
    assert tracking

    # The register now holds the new card: valid again, a new expiry (20 years
    # from today for a 41-year-old).
    after = httpx.get(f"{url}/v1/me", headers=citizen).json()
    assert after["card_status"] == "valid" and after["card_expires_on"] != "2042-05-20", after

    # Received, shipped with the tracking number, delivered: on his phone.
    def journey_texts() -> list[str] | None:
        bodies = [b for b in texts() if application["id"] in b]
        return bodies if len(bodies) >= 3 else None

    bodies = wait_for(journey_texts, within=60)
    assert bodies, texts()
    assert any("已受理" in b for b in bodies), bodies
    assert any("寄出" in b and tracking in b for b in bodies), bodies
    assert any("签收" in b for b in bodies), bodies


def assert_one_request_per_action(data_dir: Path, application: dict[str, Any]) -> None:
    """Identity kept one request per action of the application: reported lost, then
    the new card, each once."""
    with sqlite3.connect(data_dir / "identity.db") as db:
        rows = db.execute(
            "SELECT action, card_status FROM card_requests WHERE application_id = ? ORDER BY at",
            (application["id"],),
        ).fetchall()
    assert [action for action, _ in rows] == ["report_lost", "new_card"], rows
