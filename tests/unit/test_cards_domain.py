"""The cards domain without I/O: the eligibility matrix (every reason, just inside
and just outside the capture limit) and the life-cycle state machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.cards.domain import eligibility, lifecycle
from services.cards.domain.eligibility import Declaration, Holder
from services.cards.domain.lifecycle import Status
from services.cards.service_layer import kinds_file

KINDS = kinds_file.load(Path(__file__).parents[2] / "services" / "cards" / "kinds.yaml")
CITY = KINDS["haikou"]
TODAY = dt.date(2030, 1, 7)
FACE = Declaration("face", appearance_unchanged=True)


def holder(**changes: object) -> Holder:
    facts: dict[str, object] = {
        "citizen_id": "c1",
        "city_code": "haikou",
        "photo_captured_on": dt.date(2027, 1, 1),
        "fingerprint_on_file": True,
        "card_status": "valid",
        "card_expires_on": dt.date(2040, 1, 1),
    }
    facts.update(changes)
    return Holder(**facts)  # type: ignore[arg-type]


def codes(
    kind: str, h: Holder, d: Declaration = FACE, *, pending: bool = False, permit: bool = False
) -> list[str]:
    reasons = eligibility.check(
        CITY,
        CITY.kinds[kind],
        h,
        d,
        today=TODAY,
        pending_application=pending,
        holds_residence_permit=permit,
    )
    return [r.code for r in reasons]


@pytest.mark.parametrize("kind", ["id_card_lost", "id_card_damaged"])
def test_replacement_eligible_with_recent_capture_face_and_declaration(kind: str) -> None:
    assert codes(kind, holder()) == []


@pytest.mark.parametrize(
    ("captured", "expected"),
    [
        (dt.date(2025, 1, 7), []),  # exactly five years ago: just inside
        (dt.date(2025, 1, 8), []),
        (dt.date(2025, 1, 6), ["capture_too_old"]),  # a day more: just outside
        (None, ["capture_too_old"]),
    ],
)
def test_capture_age_limit(captured: dt.date | None, expected: list[str]) -> None:
    assert codes("id_card_lost", holder(photo_captured_on=captured)) == expected


def test_capture_limit_is_per_city_data() -> None:
    strict = kinds_file.parse(
        Path(Path(__file__).parents[2] / "services/cards/kinds.yaml")
        .read_text(encoding="utf-8")
        .replace("capture_max_years: 5", "capture_max_years: 2", 1)
    )["haikou"]
    reasons = eligibility.check(
        strict,
        strict.kinds["id_card_lost"],
        holder(photo_captured_on=dt.date(2027, 1, 6)),
        FACE,
        today=TODAY,
        pending_application=False,
    )
    assert [r.code for r in reasons] == ["capture_too_old"]
    assert "2" in reasons[0].message_en


def test_every_reason_at_once() -> None:
    got = codes(
        "id_card_lost",
        holder(photo_captured_on=dt.date(2010, 1, 1), fingerprint_on_file=False, card_status="invalidated"),
        Declaration("otp", appearance_unchanged=False),
        pending=True,
    )
    assert got == [
        "pending_application",
        "face_verification_needed",
        "card_status_not_allowed",
        "capture_too_old",
        "no_fingerprint",
        "appearance_declaration_missing",
    ]


def test_no_fingerprint() -> None:
    assert codes("id_card_damaged", holder(fingerprint_on_file=False)) == ["no_fingerprint"]


def test_face_level_missing() -> None:
    assert codes("id_card_lost", holder(), Declaration("otp", True)) == ["face_verification_needed"]
    assert codes("id_card_lost", holder(), Declaration("", True)) == ["face_verification_needed"]


def test_pending_application() -> None:
    assert codes("id_card_renewal", holder(card_expires_on=TODAY), pending=True) == ["pending_application"]


def test_lost_vs_damaged_card_status() -> None:
    assert codes("id_card_lost", holder(card_status="reported_lost")) == []
    assert codes("id_card_damaged", holder(card_status="reported_lost")) == ["card_status_not_allowed"]
    assert codes("id_card_damaged", holder(card_status="damaged")) == []
    assert codes("id_card_lost", holder(card_status="damaged")) == ["card_status_not_allowed"]


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (TODAY + dt.timedelta(days=90), []),  # the window's first day
        (TODAY + dt.timedelta(days=91), ["renewal_not_yet_due"]),
        (TODAY - dt.timedelta(days=1), []),  # expired
    ],
)
def test_renewal_window(expires: dt.date, expected: list[str]) -> None:
    status = "expired" if expires < TODAY else "valid"
    assert codes("id_card_renewal", holder(card_expires_on=expires, card_status=status)) == expected


def test_renewal_needs_capture_too() -> None:
    got = codes("id_card_renewal", holder(card_expires_on=TODAY, photo_captured_on=dt.date(2019, 1, 1)))
    assert got == ["capture_too_old"]


def test_residence_permit_six_months() -> None:
    away = {"residence_city_code": "zhengzhou"}
    ok = holder(**away, residence_registered_on=dt.date(2029, 7, 7))
    short = holder(**away, residence_registered_on=dt.date(2029, 7, 8))
    otp = Declaration("otp", False)
    assert codes("residence_permit_first", ok, otp) == []
    assert codes("residence_permit_first", short, otp) == ["residence_too_short"]
    assert codes("residence_permit_first", holder(), otp) == ["residence_too_short"]
    assert codes("residence_permit_renewal", ok, otp) == ["no_permit_to_renew"]
    assert codes("residence_permit_renewal", ok, otp, permit=True) == []
    assert codes("residence_permit_first", ok, otp, permit=True) == ["permit_already_held"]


def test_licence_needs_nothing_but_sign_in() -> None:
    assert codes("licence_express", holder(fingerprint_on_file=False), Declaration("otp", False)) == []


def test_kinds_file_errors_name_the_field() -> None:
    with pytest.raises(kinds_file.KindsFileError, match=r"cities\.0\.kinds\.0\.required_assurance"):
        kinds_file.parse(
            "cities:\n- city_code: x\n  window_business_code: B\n  kinds:\n"
            "  - {code: a, name: A, name_en: A, rule: none, required_assurance: iris, fee_cents: 0,"
            " delivery_options: [mail]}\n"
        )
    with pytest.raises(kinds_file.KindsFileError, match="not YAML"):
        kinds_file.parse("cities: [")


# --- the state machine -------------------------------------------------------------

NOW = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)


def application(status: Status = Status.SUBMITTED) -> lifecycle.Application:
    return lifecycle.Application(
        id="a1",
        citizen_id="c1",
        city_code="haikou",
        kind="id_card_lost",
        delivery=lifecycle.DeliveryDetails("mail"),
        status=status,
        submitted_at=NOW,
    )


def test_mail_journey_to_delivered_with_a_retry() -> None:
    app = application()
    path = [
        Status.CHECKS_PASSED,
        Status.APPROVED,
        Status.IN_PRODUCTION,
        Status.PRODUCED,
        Status.SHIPPED,
        Status.DELIVERY_FAILED,
        Status.SHIPPED,
        Status.DELIVERED,
    ]
    for step in path:
        lifecycle.move(app, step, NOW, "because", "system")
    assert [t.to_status for t in app.timeline] == path
    assert app.timeline[0].from_status is Status.SUBMITTED
    assert all(t.reason == "because" and t.at == NOW for t in app.timeline)


def test_returned_then_pickup() -> None:
    app = application(Status.DELIVERY_FAILED)
    for step in (Status.RETURNED, Status.READY_FOR_PICKUP, Status.COLLECTED):
        lifecycle.move(app, step, NOW, "r", "courier")
    assert app.status is Status.COLLECTED


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Status.IN_PRODUCTION, Status.CANCELLED),  # too late to cancel
        (Status.PRODUCED, Status.CANCELLED),
        (Status.SUBMITTED, Status.APPROVED),  # checks first
        (Status.CHECKS_FAILED, Status.APPROVED),
        (Status.DELIVERED, Status.SHIPPED),
        (Status.CANCELLED, Status.CHECKS_PASSED),
        (Status.PRODUCED, Status.DELIVERED),
        (Status.APPROVED, Status.PRODUCED),  # production is not skipped
        (Status.COLLECTED, Status.COLLECTED),
    ],
)
def test_illegal_transitions_refused_with_a_code(old: Status, new: Status) -> None:
    app = application(old)
    with pytest.raises(lifecycle.IllegalTransition) as refused:
        lifecycle.move(app, new, NOW, "r", "x")
    assert refused.value.code == "illegal_transition"
    assert refused.value.kind.http_status == 409
    assert app.status is old and app.timeline == []


def test_every_status_reachable_and_final_ones_have_no_exit() -> None:
    reached = {Status.SUBMITTED}
    frontier = [Status.SUBMITTED]
    while frontier:
        for nxt in lifecycle.TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(Status)
    assert {
        Status.CHECKS_FAILED,
        Status.REJECTED,
        Status.DELIVERED,
        Status.COLLECTED,
        Status.CANCELLED,
    } == lifecycle.FINAL


def test_answers_mask_personal_data() -> None:
    from services.cards.entrypoints.grpc_servicer import mask_address, mask_card, mask_name, mask_phone

    assert mask_name("欧阳娜娜") == "欧***" and mask_name("") == ""
    assert mask_phone("+8613800138000") == "138****8000" and mask_phone("") == ""
    assert mask_address("海南省海口市美兰区海甸岛5号") == "海南省海口市****"
    assert mask_card("460100199001011234") == "46************1234"
    assert "19900101" not in mask_card("460100199001011234")
