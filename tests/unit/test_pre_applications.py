"""The pre-application domain without a database: answers checked against the form,
the state machine (every move from every state), entitlements, documents' types,
and the catalogue file's forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.booking.domain.preapplications import (
    TRANSITIONS,
    Choice,
    Entitlement,
    FieldType,
    Form,
    FormField,
    PreApplication,
    Status,
    check_document,
    check_entitlement,
    check_note,
    sniff,
)
from services.booking.service_layer import catalogue_file
from services.runtime.errors import ProblemError

NOW = dt.datetime(2030, 1, 7, tzinfo=dt.UTC)
FORM = Form(
    "testcity",
    "HOUSEHOLD_REGISTRATION",
    (
        FormField("matter", FieldType.CHOICE, "事项", required=True, choices=(Choice("move_in", "迁入"),)),
        FormField("moving_date", FieldType.DATE, "日期"),
        FormField("people", FieldType.NUMBER, "人数"),
        FormField("reason", FieldType.LONG_TEXT, "说明", required=True, max_length=20),
        FormField("name_of_school", FieldType.TEXT, "学校", max_length=10),
    ),
    min_attachments=1,
)


def refused(call: object) -> tuple[str, str | None]:
    assert callable(call)
    with pytest.raises(ProblemError) as raised:
        call()
    return raised.value.code, raised.value.field


def pre(status: Status) -> PreApplication:
    return PreApplication("p1", "c1", "testcity", "HOUSEHOLD_REGISTRATION", status, {}, NOW, NOW)


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("matter", " move_in ", "move_in"),
        ("moving_date", "2030-02-01", "2030-02-01"),
        ("people", "2.50", "2.5"),
        ("people", "-0", "0"),
        ("people", "1E+2", "100"),
        ("reason", "第一行\n第二行\t缩进", "第一行\n第二行\t缩进"),
        ("name_of_school", "郑州一中", "郑州一中"),
    ],
)
def test_answers_are_stored_normalised(key: str, value: str, stored: str) -> None:
    assert FORM.fill({}, {key: value}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("matter", "move_out", "invalid_answer"),
        ("moving_date", "2030-13-01", "invalid_answer"),
        ("moving_date", "20300201x", "invalid_answer"),
        ("people", "Infinity", "invalid_answer"),
        ("people", "NaN", "invalid_answer"),
        ("people", "1" * 40, "invalid_answer"),
        ("reason", "x" * 21, "invalid_answer"),
        ("name_of_school", "a\nb", "invalid_answer"),  # one line only
        ("reason", "a\x00b", "invalid_answer"),
        ("reason", "a\ud800b", "invalid_answer"),
        ("reason", "a\x85b", "invalid_answer"),
        ("id_number", "110101199001011234", "unknown_answer"),
        ("Matter", "move_in", "unknown_answer"),
        ("a" * 80, "x", "unknown_answer"),
    ],
)
def test_answers_the_form_does_not_take_are_refused_naming_their_field(
    key: str, value: str, code: str
) -> None:
    found_code, field = refused(lambda: FORM.fill({}, {key: value}))
    assert found_code == code
    assert field == (
        f"answers.{key}" if code == "invalid_answer" or (key.islower() and len(key) < 64) else "answers"
    )


@given(st.text(max_size=50))
def test_any_text_is_stored_or_refused_never_an_error_of_another_kind(value: str) -> None:
    for key in ("matter", "moving_date", "people", "reason", "name_of_school"):
        try:
            FORM.fill({}, {key: value})
        except ProblemError as refusal:
            assert (refusal.code, refusal.field) == ("invalid_answer", f"answers.{key}")


def test_an_empty_answer_clears_it_and_submission_asks_for_what_is_required() -> None:
    answers = FORM.fill({}, {"matter": "move_in", "people": "3"})
    assert FORM.fill(answers, {"people": "  "}) == {"matter": "move_in"}
    assert refused(lambda: FORM.check_complete({"matter": "move_in"}, 1)) == (
        "answer_required",
        "answers.reason",
    )
    complete = {"matter": "move_in", "reason": "工作调动"}
    assert refused(lambda: FORM.check_complete(complete, 0)) == ("attachments_required", "attachments")
    FORM.check_complete(complete, 1)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_move_from_every_state(status: Status, action: str) -> None:
    sources, target = TRANSITIONS[action]
    if status in sources:
        moved, change = pre(status).move(action, NOW, "reviewer:st-1@centre", "note")
        assert (moved.status, change.old, change.new, change.actor) == (
            target,
            status,
            target,
            "reviewer:st-1@centre",
        )
        assert moved.history == (change,) and moved.note == "note" and moved.changed_at == NOW
        assert moved.submitted_at == (NOW if target is Status.SUBMITTED else None)
    else:
        assert refused(lambda: pre(status).move(action, NOW, "x")) == (
            "pre_application_state",
            "pre_application_id",
        )


def test_the_workflow_ends_in_approval_or_rejection_and_edits_stop_at_submission() -> None:
    assert {s for s in Status if not any(s in sources for sources, _ in TRANSITIONS.values())} == {
        Status.APPROVED,
        Status.REJECTED,
    }
    for status in Status:
        if status in (Status.DRAFT, Status.MORE_MATERIAL_NEEDED):
            pre(status).check_editable()
        else:
            assert refused(pre(status).check_editable)[0] == "pre_application_state"


def test_explanations_are_required_where_the_citizen_needs_them() -> None:
    assert check_note("  已核实  ", "note", required=False) == "已核实"
    assert check_note("", "note", required=False) == ""
    assert refused(lambda: check_note(" ", "reason", required=True)) == ("reason_required", "reason")
    assert refused(lambda: check_note("", "note", required=True)) == ("note_required", "note")
    assert refused(lambda: check_note("a\x00", "note", required=True)) == ("invalid_text", "note")
    assert refused(lambda: check_note("x" * 2001, "reason", required=True)) == ("invalid_text", "reason")


def test_an_entitlement_is_the_citizens_for_the_business_unused_and_unexpired() -> None:
    e = Entitlement("p1", "c1", "testcity", "HH", NOW, NOW + dt.timedelta(days=30))

    def check(
        found: Entitlement | None, citizen: str = "c1", business: str = "HH", at: dt.datetime = NOW
    ) -> object:
        return lambda: check_entitlement(found, "p1", citizen, "testcity", business, "Household", at)

    assert check_entitlement(e, "p1", "c1", "testcity", "HH", "Household", NOW) == e
    assert refused(check(None)) == ("pre_application_not_approved", "pre_application_id")
    assert refused(check(e, citizen="c2"))[0] == "pre_application_not_approved"
    assert refused(check(e, business="OTHER"))[0] == "pre_application_not_approved"
    used = replace(e, booking_id="b1")
    assert refused(check(used))[0] == "entitlement_used"
    # The booking that holds it may move.
    assert check_entitlement(used, "p1", "c1", "testcity", "HH", "Household", NOW, booking_id="b1") == used
    assert refused(check(e, at=NOW + dt.timedelta(days=30)))[0] == "entitlement_expired"


@pytest.mark.parametrize(
    ("content", "media"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"%PDF-1.4\n", "application/pdf"),
        (b"GIF89a", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"PK\x03\x04 a docx", None),
        (b"MZ\x90\x00", None),
        (b" %PDF-1.4", None),
    ],
)
def test_a_documents_type_is_told_by_its_first_bytes(content: bytes, media: str | None) -> None:
    assert sniff(content) == media


def test_documents_are_limited_in_size() -> None:
    assert check_document(b"%PDF-" + b"0" * 95, 100) == "application/pdf"
    assert refused(lambda: check_document(b"%PDF-" + b"0" * 96, 100)) == ("attachment_too_large", "content")
    assert refused(lambda: check_document(b"", 100)) == ("attachment_empty", "content")
    assert refused(lambda: check_document(b"GIF89a", 100)) == ("attachment_type_not_allowed", "content")


CITY = """
cities:
  - code: c
    name: C
    booking_rules: {entitlement_days: 14}
    businesses:
      - code: HH
        category: household
        name: H
        service_guide: G
        phone: "1"
        duration_minutes: 10
        handling: window
        requires_pre_application: true
        pre_application_form:
          fields: %s
          min_attachments: 2
      - code: PLAIN
        category: other
        name: P
        service_guide: G
        phone: "1"
        duration_minutes: 10
        handling: window
"""


def test_the_catalogue_file_defines_forms_and_the_entitlement_period() -> None:
    fields = (
        "[{key: matter, type: choice, label: {zh-CN: 事项, en: Matter}, required: true,"
        " choices: [{code: a, label: A}]}]"
    )
    doc = catalogue_file.parse((CITY % fields).encode(), "yaml")
    forms = dict(catalogue_file.forms_of(doc.cities[0]))
    assert forms["PLAIN"] is None
    form = forms["HH"]
    assert form is not None and form.min_attachments == 2
    assert (form.fields[0].label, form.fields[0].label_en, form.fields[0].choices) == (
        "事项",
        "Matter",
        (Choice("a", "A"),),
    )
    assert catalogue_file.to_domain(doc.cities[0])[0].rules.entitlement == dt.timedelta(days=14)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("[{key: a, type: choice, label: A}]", "choices"),
        ("[{key: a, type: text, label: A, choices: [{code: x, label: X}]}]", "choices"),
        ("[{key: a, type: text, label: A}, {key: a, type: date, label: B}]", "more than once"),
        ("[{key: Bad-Key, type: text, label: A}]", "pattern"),
        ("[{key: a, type: colour, label: A}]", "text"),
    ],
)
def test_a_form_the_catalogue_cannot_mean_is_refused(fields: str, message: str) -> None:
    with pytest.raises(ProblemError) as raised:
        catalogue_file.parse((CITY % fields).encode(), "yaml")
    assert raised.value.code == "invalid_catalogue"
    assert "pre_application_form" in (raised.value.field or "")
    assert message in raised.value.detail


def test_only_a_business_that_requires_a_pre_application_has_a_form() -> None:
    text = (CITY % "[]").replace("requires_pre_application: true", "requires_pre_application: false")
    with pytest.raises(ProblemError) as raised:
        catalogue_file.parse(text.encode(), "yaml")
    assert "only a business that requires a pre-application" in raised.value.detail
