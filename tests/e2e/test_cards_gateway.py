"""Card applications through the real gateway: eligibility with the windows of the
real booking service, applying with a face-verified session, the journey's signed
courier callbacks, and the cross-citizen matrix (another citizen's application is
404 on every route). Cards asks the platform's real identity, whose register holds
the residents this file imports into the test catalogue's city."""

from __future__ import annotations

import json
import uuid
from typing import Any

from services.cards.adapters import courier_signature
from tests.e2e.conftest import Platform
from tests.e2e.test_bookings_gateway import WANG, ZHANG_P, sign_in
from tests.e2e.test_identity import HEADER, import_file

# Both residents in the test catalogue's city, photo and fingerprints taken within
# five years of the test clock (2030-01-07), a valid card: eligible online once
# face-verified and declaring their appearance unchanged.
REGISTER = "\n".join(
    [
        HEADER,
        f"{ZHANG_P['id_number']},张伟,13800138001,testcity,测试市中心路1号,2027-06-01,true,2020-01-01,2040-01-01,valid",
        f"{WANG['id_number']},王强,13900139001,testcity,测试市北路2号,2027-06-01,true,2020-01-01,2040-01-01,valid",
    ]
)


async def load_register(platform: Platform) -> None:
    imported = await import_file(platform, REGISTER.encode())
    assert (imported["state"], imported["rows_done"]) == ("done", 2), imported


MAIL = {"method": "mail", "recipient": "张伟", "phone": "13800138001", "address": "测试市中心路1号3单元"}


async def citizen(
    platform: Platform, who: dict[str, str], clock: Any, *, face: bool = True
) -> dict[str, str]:
    """Headers of ``who`` signed in (face-verified when asked)."""
    headers = await sign_in(platform, who, "web", clock)
    if face:
        verified = await platform.http.post(
            "/v1/me/face-verification", json={"liveness_token": "live"}, headers=headers
        )
        assert verified.status_code == 200, verified.text
    return headers


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid.uuid4())}


def signed(platform: Platform, event_id: str, tracking: str, kind: str, secret: bytes) -> dict[str, str]:
    """One callback of a batch (docs/courier.md, "Batches")."""
    body = json.dumps(
        {
            "event_id": event_id,
            "tracking_number": tracking,
            "kind": kind,
            "occurred_at": "2030-01-07T08:30:00+08:00",
        }
    )
    at = int(platform.cards.clock().timestamp())
    return {
        "timestamp": str(at),
        "signature": courier_signature.sign(secret, at, body.encode()),
        "body": body,
    }


async def courier(platform: Platform, event_id: str, tracking: str, kind: str, secret: bytes) -> Any:
    callback = signed(platform, event_id, tracking, kind, secret)
    return await platform.http.post(
        "/v1/callbacks/courier",
        content=callback["body"].encode(),
        headers={
            "Content-Type": "application/json",
            "X-Courier-Timestamp": callback["timestamp"],
            "X-Courier-Signature": callback["signature"],
        },
    )


async def test_apply_follow_to_the_door_and_nobody_else_sees_it(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    zhang = await citizen(platform, ZHANG_P, clock)
    wang = await citizen(platform, WANG, clock, face=False)

    told = await platform.http.get(
        "/v1/card-applications/eligibility",
        params={"kind": "id_card_lost", "appearance_unchanged": "true"},
        headers=zhang,
    )
    assert told.status_code == 200, told.text
    assert told.json()["eligible"] is True
    kinds = await platform.http.get("/v1/card-applications/kinds", headers=zhang)
    assert kinds.status_code == 200, kinds.text
    assert "id_card_lost" in [k["code"] for k in kinds.json()["kinds"]]

    # Without a face match: every reason, and the windows with their earliest vacancy.
    refused = (
        await platform.http.get(
            "/v1/card-applications/eligibility", params={"kind": "id_card_lost"}, headers=wang
        )
    ).json()
    assert [r["code"] for r in refused["reasons"]] == [
        "face_verification_needed",
        "appearance_declaration_missing",
    ]
    assert refused["window_business"] == "ID_CARD_RENEWAL"
    assert {o["office_id"] for o in refused["alternatives"]} == {"centre", "north"}
    assert all(o["earliest_date"] for o in refused["alternatives"])

    body = {"kind": "id_card_lost", "appearance_unchanged": True, "delivery": MAIL}
    headers = keyed(zhang)
    made = await platform.http.post("/v1/card-applications", json=body, headers=headers)
    assert made.status_code == 201, made.text
    app = made.json()
    assert (app["status"], app["delivery"]["phone_masked"]) == ("approved", "138****8001")
    assert "1号3单元" not in made.text and "13800138001" not in made.text
    # The register's card is reported lost at once, before anything is made.
    me = (await platform.http.get("/v1/me", headers=zhang)).json()
    assert me["card_status"] == "reported_lost", me
    again = await platform.http.post("/v1/card-applications", json=body, headers=headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed"), again.json()["id"]) == (
        201,
        "true",
        app["id"],
    )

    # The cross-citizen matrix: another citizen's application does not exist for them.
    app_url = f"/v1/card-applications/{app['id']}"
    assert (await platform.http.get(app_url, headers=wang)).status_code == 404
    assert (await platform.http.post(f"{app_url}/cancel", headers=wang)).status_code == 404
    assert (await platform.http.get("/v1/card-applications", headers=wang)).json() == {"applications": []}
    assert (await platform.http.get(app_url, headers=platform.headers())).status_code == 401
    listed = (await platform.http.get("/v1/card-applications", headers=zhang)).json()["applications"]
    assert [a["id"] for a in listed] == [app["id"]]

    await platform.cards.journey.step()
    shipped = (await platform.http.get(app_url, headers=zhang)).json()
    assert shipped["status"] == "shipped"
    tracking = shipped["delivery"]["tracking_number"]
    # The new card is in the register: valid again, expiring 20 years from the day it
    # was made (the holder was 44 then).
    me = (await platform.http.get("/v1/me", headers=zhang)).json()
    assert (me["card_status"], me["card_expires_on"]) == ("valid", "2050-01-07"), me

    secret = b"test-courier-secret"
    forged = await courier(platform, "e1", tracking, "delivered", b"not-the-secret")
    assert (forged.status_code, forged.json()["code"], forged.json()["field"]) == (
        401,
        "courier_signature_invalid",
        "X-Courier-Signature",
    )
    delivered = await courier(platform, "e1", tracking, "delivered", secret)
    assert delivered.json() == {"application_id": app["id"], "status": "delivered"}
    replayed = await courier(platform, "e1", tracking, "delivered", secret)
    assert (replayed.status_code, replayed.json()["code"]) == (409, "courier_event_replayed")
    # A batch: each callback verified and answered on its own, a refused one undone alone.
    batch = [
        signed(platform, "e2", tracking, "delivered", b"not-the-secret"),
        signed(platform, "e1", tracking, "delivered", secret),
        signed(platform, "e3", "SBX000000000000", "delivered", secret),
        signed(platform, "e4", tracking, "picked_up", secret),
    ]
    answered = await platform.http.post("/v1/callbacks/courier/batch", json={"callbacks": batch})
    assert answered.status_code == 200, answered.text
    assert [(r["event_id"], r["http_status"], r["error"]) for r in answered.json()["results"]] == [
        ("", 401, "courier_signature_invalid"),
        ("e1", 409, "courier_event_replayed"),
        ("e3", 404, "tracking_number_not_found"),
        ("e4", 409, "illegal_transition"),
    ]
    # A refused callback names no application (not a null one a client could follow).
    assert not any("application_id" in r for r in answered.json()["results"])
    no_batch = await platform.http.post("/v1/callbacks/courier/batch", json={"callbacks": []})
    assert (no_batch.status_code, no_batch.json()["code"]) == (400, "invalid_courier_callback")
    timeline = (await platform.http.get(app_url, headers=zhang)).json()["timeline"]
    assert [s["to_status"] for s in timeline] == [
        "submitted",
        "checks_passed",
        "approved",
        "in_production",
        "produced",
        "shipped",
        "delivered",
    ]
    assert (await platform.http.post(f"{app_url}/cancel", headers=zhang)).json()[
        "code"
    ] == "illegal_transition"


async def test_hostile_input_is_a_precise_4xx(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    zhang = await citizen(platform, ZHANG_P, clock)
    for delivery, field in (
        ({**MAIL, "address": "路\ud800"}, "delivery.address"),
        ({**MAIL, "recipient": "张\u0000伟"}, "delivery.recipient"),
        ({**MAIL, "phone": "not a phone"}, "delivery.phone"),
        ({"method": "drone"}, "delivery.method"),
    ):
        content = json.dumps({"kind": "id_card_lost", "appearance_unchanged": True, "delivery": delivery})
        answer = await platform.http.post(
            "/v1/card-applications",
            content=content,
            headers={**keyed(zhang), "Content-Type": "application/json"},
        )
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["field"].endswith(field.split(".")[-1]), answer.json()
    assert (await platform.http.get("/v1/card-applications", headers=zhang)).json() == {"applications": []}
    bad_id = await platform.http.get("/v1/card-applications/not-an-id", headers=zhang)
    assert bad_id.status_code in (400, 404, 422)
    no_key = await platform.http.post(
        "/v1/card-applications", json={"kind": "id_card_lost", "delivery": MAIL}, headers=zhang
    )
    assert no_key.status_code in (400, 422) and "Idempotency-Key" in no_key.text


async def test_staff_review_and_hand_over_through_the_gateway(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    zhang = await citizen(platform, ZHANG_P, clock, face=False)
    body = {"kind": "licence_express", "delivery": MAIL}
    app = (await platform.http.post("/v1/card-applications", json=body, headers=keyed(zhang))).json()
    assert (app["status"], app["needs_review"]) == ("checks_passed", True)

    reviewer = await platform.make_staff("reviewer")
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    url = f"/v1/staff/card-applications/{app['id']}"
    refused = await platform.http.post(f"{url}/approve", headers=clerk)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    empty = await platform.http.post(f"{url}/reject", json={"reason": ""}, headers=reviewer)
    assert (empty.status_code, empty.json()["field"]) == (400, "reason")
    listed = await platform.http.get(
        "/v1/staff/card-applications", params={"city": "testcity"}, headers=reviewer
    )
    assert [a["id"] for a in listed.json()["applications"]] == [app["id"]]
    assert "张伟" not in listed.text and "13800138001" not in listed.text
    approved = await platform.http.post(
        f"{url}/approve", json={"note": "licence file seen"}, headers=reviewer
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["timeline"][-1]["reason"] == "licence file seen"
    again = await platform.http.post(f"{url}/approve", headers=reviewer)
    assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")

    # Pickup at the clerk's office: theirs to hand over, nobody's to see from elsewhere.
    wang = await citizen(platform, WANG, clock)
    pickup = {"method": "pickup", "office_id": "centre"}
    lost = {"kind": "id_card_lost", "appearance_unchanged": True, "delivery": pickup}
    mine = (await platform.http.post("/v1/card-applications", json=lost, headers=keyed(wang))).json()
    await platform.cards.journey.step()
    ready = (await platform.http.get(f"/v1/card-applications/{mine['id']}", headers=wang)).json()
    assert ready["status"] == "ready_for_pickup"
    north = await platform.make_staff("window_clerk", office_id="north")
    elsewhere = await platform.http.post(f"/v1/staff/card-applications/{mine['id']}/collected", headers=north)
    assert elsewhere.status_code == 404
    theirs = await platform.http.get("/v1/staff/card-applications", headers=clerk)
    assert mine["id"] in [a["id"] for a in theirs.json()["applications"]]
    done = await platform.http.post(f"/v1/staff/card-applications/{mine['id']}/collected", headers=clerk)
    assert done.json()["status"] == "collected", done.text
