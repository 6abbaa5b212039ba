"""Use cases of online pre-applications: the citizen's draft, answers, documents
and submission; the reviewers' queue and decisions; the booking entitlement an
approval issues, which booking consumes and a cancellation gives back.

Who sees what: a citizen reaches only their own pre-applications (looked up by id
AND citizen: anyone else's does not exist, 404); a reviewer only those of the city
of the office they are bound to, an administrator every city's. A reviewer's read
of a citizen's answers or documents is itself audited."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

from services.booking.domain import events
from services.booking.domain.model import Business
from services.booking.domain.preapplications import (
    MAX_ATTACHMENTS,
    Attachment,
    Change,
    Entitlement,
    Form,
    PreApplication,
    Status,
    check_document,
    check_entitlement,
    check_note,
)
from services.booking.service_layer.unit_of_work import ObjectStore, Transaction, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.errors import Kind, NotFound, ProblemError
from services.runtime.text import check_text

#: The reviewers' queue answers at most this many at once (oldest first).
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class Reviewer:
    """A member of staff reviewing: ``office_id`` is the office a reviewer is bound
    to (its city is theirs); ``everywhere`` for administrators."""

    actor: str
    office_id: str = ""
    everywhere: bool = False


@dataclass(frozen=True)
class Details:
    pre_application: PreApplication
    attachments: list[Attachment]
    entitlement: Entitlement | None
    form: Form | None


def _not_found(pre_application_id: str) -> NotFound:
    return NotFound("pre_application", pre_application_id, field="pre_application_id")


async def _business(tx: Transaction, city_code: str, business_code: str) -> Business:
    business = await tx.catalogue.get_business(city_code, business_code)
    if business is None:
        raise NotFound("business", f"{business_code} in {city_code}", field="business")
    return business


async def get_form(uow: UnitOfWork, city_code: str, business_code: str) -> tuple[Business, Form]:
    async with uow.read() as tx:
        business = await _business(tx, city_code, business_code)
        form = await tx.pre_applications.get_form(city_code, business_code)
    if not business.requires_pre_application or form is None:
        raise ProblemError(
            "pre_application_not_needed",
            f"{business.english_name} is booked without a pre-application.",
            field="business",
            kind=Kind.UNPROCESSABLE,
        )
    return business, form


# the citizen's side


async def create(
    uow: UnitOfWork, clock: Clock, citizen_id: str, actor: str, city_code: str, business_code: str
) -> PreApplication:
    business, _ = await get_form(uow, city_code, business_code)
    now = clock()
    pre = PreApplication(
        id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        city_code=city_code,
        business_code=business.code,
        status=Status.DRAFT,
        answers={},
        created_at=now,
        changed_at=now,
        history=(Change(now, None, Status.DRAFT, actor, "created"),),
    )
    async with uow.write() as tx:
        await tx.pre_applications.add(pre)
        await tx.audit("pre_application.created", pre.id, {"business": f"{city_code}/{business.code}"})
    return pre


async def _own(tx: Transaction, citizen_id: str, pre_application_id: str) -> PreApplication:
    pre = await tx.pre_applications.get(pre_application_id, citizen_id=citizen_id)
    if pre is None:
        raise _not_found(pre_application_id)
    return pre


async def _details(tx: Transaction, pre: PreApplication) -> Details:
    return Details(
        pre,
        await tx.pre_applications.attachments(pre.id),
        await tx.pre_applications.entitlement(pre.id),
        await tx.pre_applications.get_form(pre.city_code, pre.business_code),
    )


async def get_own(uow: UnitOfWork, citizen_id: str, pre_application_id: str) -> Details:
    async with uow.read() as tx:
        return await _details(tx, await _own(tx, citizen_id, pre_application_id))


async def list_own(uow: UnitOfWork, citizen_id: str) -> list[PreApplication]:
    async with uow.read() as tx:
        return await tx.pre_applications.list_own(citizen_id)


async def fill(
    uow: UnitOfWork, clock: Clock, citizen_id: str, pre_application_id: str, changes: Mapping[str, str]
) -> Details:
    """Set (or, with "", clear) answers; each checked against the form."""
    async with uow.write() as tx:
        pre = await _own(tx, citizen_id, pre_application_id)
        pre.check_editable()
        form = await tx.pre_applications.get_form(pre.city_code, pre.business_code) or Form(
            pre.city_code, pre.business_code, ()
        )
        filled = replace(pre, answers=form.fill(pre.answers, changes))
        if not await tx.pre_applications.save_answers(filled, clock()):
            raise _changed()
        return await _details(tx, filled)


def _changed() -> ProblemError:
    return ProblemError(
        "pre_application_changed",
        "The pre-application changed meanwhile; read it again.",
        field="pre_application_id",
        kind=Kind.CONFLICT,
    )


async def submit(
    uow: UnitOfWork, clock: Clock, citizen_id: str, actor: str, pre_application_id: str
) -> PreApplication:
    """Into the city's review queue; again after more material was asked for."""
    async with uow.write() as tx:
        pre = await _own(tx, citizen_id, pre_application_id)
        if pre.status is Status.SUBMITTED:
            return pre  # a retried submission changes nothing
        pre.check_editable()
        form = await tx.pre_applications.get_form(pre.city_code, pre.business_code) or Form(
            pre.city_code, pre.business_code, ()
        )
        form.check_complete(pre.answers, await tx.pre_applications.count_attachments(pre.id))
        moved, change = pre.move("submit", clock(), actor)
        if not await tx.pre_applications.move(pre, moved, change):
            raise _changed()
        tx.emit(events.PreApplicationSubmitted(pre.id, pre.citizen_id, pre.city_code, pre.business_code))
        await tx.audit("pre_application.submitted", pre.id, {"from": pre.status.value})
    return moved


async def attach(
    uow: UnitOfWork,
    store: ObjectStore,
    clock: Clock,
    citizen_id: str,
    pre_application_id: str,
    content: bytes,
    label: str,
    max_bytes: int,
) -> Attachment:
    """Its type sniffed from the bytes (JPEG, PNG or PDF), its size within the
    limit, its bytes sealed in the object store before its row is written."""
    label = check_text(label, "label").strip()
    async with uow.read() as tx:
        # Whose it is first: someone else's pre-application says nothing about a document.
        pre = await _own(tx, citizen_id, pre_application_id)
        pre.check_editable()
        if await tx.pre_applications.count_attachments(pre.id) >= MAX_ATTACHMENTS:
            raise _too_many()
    media_type = check_document(content, max_bytes)
    attachment = Attachment(str(uuid.uuid4()), pre.id, media_type, len(content), label, clock())
    key = f"pre-applications/{pre.id}/{attachment.id}"
    await store.put(key, content)
    try:
        async with uow.write() as tx:
            again = await _own(tx, citizen_id, pre_application_id)
            again.check_editable()  # submitted meanwhile: the document would slip in unseen
            if await tx.pre_applications.count_attachments(pre.id) >= MAX_ATTACHMENTS:
                raise _too_many()
            await tx.pre_applications.add_attachment(attachment, key)
            await tx.audit(
                "pre_application.attachment_added",
                pre.id,
                {"attachment": attachment.id, "type": media_type, "size": len(content)},
            )
    except BaseException:
        await store.delete(key)  # no orphan bytes of a document nobody can list
        raise
    return attachment


def _too_many() -> ProblemError:
    return ProblemError(
        "too_many_attachments",
        f"A pre-application carries at most {MAX_ATTACHMENTS} documents.",
        field="content",
        kind=Kind.CONFLICT,
    )


async def _read_document(
    tx: Transaction, store: ObjectStore, pre: PreApplication, attachment_id: str
) -> tuple[Attachment, bytes]:
    found = await tx.pre_applications.attachment(pre.id, attachment_id)
    if found is None:
        raise NotFound("attachment", attachment_id, field="attachment_id")
    attachment, key = found
    content = await store.get(key)
    if content is None:  # pragma: no cover - the store lost a document it was given
        raise NotFound("attachment", attachment_id, field="attachment_id")
    return attachment, content


async def read_own_document(
    uow: UnitOfWork, store: ObjectStore, citizen_id: str, pre_application_id: str, attachment_id: str
) -> tuple[Attachment, bytes]:
    async with uow.read() as tx:
        pre = await _own(tx, citizen_id, pre_application_id)
        return await _read_document(tx, store, pre, attachment_id)


# the reviewers' side


async def _cities_of(tx: Transaction, reviewer: Reviewer) -> list[str] | None:
    """The cities a reviewer reviews; None: every city (administrators)."""
    if reviewer.everywhere:
        return None
    office = await tx.catalogue.get_office(reviewer.office_id) if reviewer.office_id else None
    if office is None:
        raise ProblemError(
            "reviewer_without_city",
            "A reviewer reviews the pre-applications of the city of the office they are bound to; "
            "this account is bound to none (an administrator binds it).",
            kind=Kind.FORBIDDEN,
        )
    return [office.city_code]


async def _reviewable(tx: Transaction, reviewer: Reviewer, pre_application_id: str) -> PreApplication:
    """Another city's pre-application, like a draft, does not exist for a reviewer."""
    cities = await _cities_of(tx, reviewer)
    pre = await tx.pre_applications.get(pre_application_id, for_update=True)
    if pre is None or pre.status is Status.DRAFT or (cities is not None and pre.city_code not in cities):
        raise _not_found(pre_application_id)
    return pre


async def queue(
    uow: UnitOfWork, reviewer: Reviewer, business_code: str, statuses: list[Status]
) -> list[PreApplication]:
    """Oldest submission first; by default what waits for a decision."""
    wanted: list[Status] = [s for s in statuses if s is not Status.DRAFT] or [Status.SUBMITTED]
    async with uow.write() as tx:
        cities = await _cities_of(tx, reviewer)
        found = await tx.pre_applications.queue(cities, wanted, business_code, QUEUE_LIMIT)
        await tx.audit(
            "pre_applications.listed",
            ",".join(cities or ["*"]),
            {"business": business_code, "statuses": [s.value for s in wanted], "count": len(found)},
        )
        return found


async def review(uow: UnitOfWork, reviewer: Reviewer, pre_application_id: str) -> Details:
    async with uow.write() as tx:
        pre = await _reviewable(tx, reviewer, pre_application_id)
        await tx.audit("pre_application.viewed", pre.id, {})
        return await _details(tx, pre)


async def read_document_for_review(
    uow: UnitOfWork, store: ObjectStore, reviewer: Reviewer, pre_application_id: str, attachment_id: str
) -> tuple[Attachment, bytes]:
    async with uow.write() as tx:
        pre = await _reviewable(tx, reviewer, pre_application_id)
        found = await _read_document(tx, store, pre, attachment_id)
        await tx.audit("pre_application.attachment_viewed", pre.id, {"attachment": attachment_id})
        return found


async def decide(
    uow: UnitOfWork, clock: Clock, reviewer: Reviewer, pre_application_id: str, action: str, note: str
) -> Details:
    """``action``: approve (note optional), reject (reason required) or
    request_material (note required). Each is timestamped, explained, audited,
    and told to the citizen through an event."""
    required = action != "approve"
    note = check_note(note, "reason" if action == "reject" else "note", required=required)
    now = clock()
    async with uow.write() as tx:
        pre = await _reviewable(tx, reviewer, pre_application_id)
        moved, change = pre.move(action, now, reviewer.actor, note)
        if not await tx.pre_applications.move(pre, moved, change):
            raise _changed()
        business = await _business(tx, pre.city_code, pre.business_code)
        names = (business.name, business.name_en)
        if action == "approve":
            city = await tx.catalogue.get_city(pre.city_code)
            assert city is not None
            entitlement = Entitlement(
                pre.id, pre.citizen_id, pre.city_code, pre.business_code, now, now + city.rules.entitlement
            )
            await tx.pre_applications.issue_entitlement(entitlement)
            tx.emit(
                events.PreApplicationApproved(
                    pre.id, pre.citizen_id, pre.city_code, *names, entitlement.expires_at, note
                )
            )
        elif action == "reject":
            tx.emit(events.PreApplicationRejected(pre.id, pre.citizen_id, pre.city_code, *names, note))
        else:
            tx.emit(
                events.PreApplicationMaterialRequested(pre.id, pre.citizen_id, pre.city_code, *names, note)
            )
        # The note is the reviewer's words to the citizen: kept with the change, not
        # copied into the audit chain (the chain says who decided what, when).
        await tx.audit(
            f"pre_application.{action}", pre.id, {"business": f"{pre.city_code}/{pre.business_code}"}
        )
        return await _details(tx, moved)


# booking's side: the entitlement


async def check_usable(
    tx: Transaction,
    pre_application_id: str,
    citizen_id: str,
    business: Business,
    now: dt.datetime,
    *,
    booking_id: str | None = None,
) -> Entitlement:
    """The entitlement a booking of ``business`` would consume (read; the write
    transaction's :func:`consume` decides a race)."""
    return check_entitlement(
        await tx.pre_applications.entitlement(pre_application_id),
        pre_application_id,
        citizen_id,
        business.city_code,
        business.code,
        business.english_name,
        now,
        booking_id=booking_id,
    )


async def consume(
    tx: Transaction,
    pre_application_id: str,
    citizen_id: str,
    business: Business,
    booking_id: str,
    now: dt.datetime,
) -> None:
    if not await tx.pre_applications.consume_entitlement(pre_application_id, citizen_id, booking_id, now):
        # Used or expired since it was read: say which.
        await check_usable(tx, pre_application_id, citizen_id, business, now)
        raise ProblemError(  # pragma: no cover - check_usable raised
            "entitlement_used", "The pre-application was used meanwhile.", kind=Kind.CONFLICT
        )


async def give_back(tx: Transaction, booking_id: str) -> bool:
    """A cancelled booking's entitlement can book again (until it expires)."""
    return await tx.pre_applications.give_back_entitlement(booking_id)
