"""Whether a citizen may apply online for a kind: a pure function of the register's
facts, the kind's definition and what the citizen declares, returning EVERY reason
it may not (the citizen fixes them all at once, or goes to the window)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.cards.domain.kinds import CityKinds, KindDefinition, Rule

_ASSURANCE_RANK = {"otp": 1, "face": 2}


@dataclass(frozen=True)
class Holder:
    """The register's facts about a citizen that eligibility reads."""

    citizen_id: str
    city_code: str
    photo_captured_on: dt.date | None
    fingerprint_on_file: bool
    card_status: str
    card_expires_on: dt.date | None
    residence_city_code: str = ""
    residence_registered_on: dt.date | None = None


@dataclass(frozen=True)
class Declaration:
    assurance_level: str
    appearance_unchanged: bool


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    message_en: str


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _months_before(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def check(
    city: CityKinds,
    kind: KindDefinition,
    holder: Holder,
    declaration: Declaration,
    *,
    today: dt.date,
    pending_application: bool,
    holds_residence_permit: bool = False,
) -> list[Reason]:
    """Every reason the citizen may not apply online; empty: they may."""
    reasons: list[Reason] = []
    if pending_application:
        reasons.append(
            Reason(
                "pending_application",
                "您已有一份同类申请正在办理。",
                "An application of this kind is already in progress.",
            )
        )
    if _ASSURANCE_RANK.get(declaration.assurance_level, 0) < _ASSURANCE_RANK.get(kind.required_assurance, 9):
        reasons.append(
            Reason(
                "face_verification_needed",
                "请先完成人脸识别认证。",
                "Verify your face first (this needs a face-verified session).",
            )
        )
    if kind.allowed_card_statuses and holder.card_status not in kind.allowed_card_statuses:
        reasons.append(
            Reason(
                "card_status_not_allowed",
                f"当前证件状态（{holder.card_status or '无'}）不能在线办理此业务。",
                f"The card's status ({holder.card_status or 'none'}) does not allow this online.",
            )
        )
    if kind.rule in (Rule.ID_CARD_REPLACEMENT, Rule.ID_CARD_RENEWAL):
        oldest = _years_before(today, city.capture_max_years)
        if holder.photo_captured_on is None or holder.photo_captured_on < oldest:
            reasons.append(
                Reason(
                    "capture_too_old",
                    f"照片和指纹采集已超过{city.capture_max_years}年，请到窗口重新采集。",
                    f"Photo and fingerprints were captured more than {city.capture_max_years} years ago: "
                    "have them taken at a window.",
                )
            )
        if not holder.fingerprint_on_file:
            reasons.append(Reason("no_fingerprint", "系统中没有您的指纹信息。", "No fingerprint is on file."))
        if not declaration.appearance_unchanged:
            reasons.append(
                Reason(
                    "appearance_declaration_missing",
                    "请声明您的相貌没有明显变化。",
                    "Declare that your appearance has not changed significantly.",
                )
            )
    if kind.rule is Rule.ID_CARD_RENEWAL:
        window_opens = (
            holder.card_expires_on - dt.timedelta(days=city.renewal_window_days)
            if holder.card_expires_on is not None
            else None
        )
        if window_opens is not None and today < window_opens:
            reasons.append(
                Reason(
                    "renewal_not_yet_due",
                    f"证件有效期届满前{city.renewal_window_days}天内方可换领（{window_opens.isoformat()}起）。",
                    f"Renewal opens {city.renewal_window_days} days before expiry (from "
                    f"{window_opens.isoformat()}).",
                )
            )
    if kind.rule is Rule.RESIDENCE_PERMIT:
        since = holder.residence_registered_on
        if (
            not holder.residence_city_code
            or holder.residence_city_code == holder.city_code
            or since is None
            or since > _months_before(today, city.residence_min_months)
        ):
            reasons.append(
                Reason(
                    "residence_too_short",
                    f"离开户籍地居住登记未满{city.residence_min_months}个月。",
                    f"Registered residence away from the household is shorter than "
                    f"{city.residence_min_months} months.",
                )
            )
        if kind.renewal is True and not holds_residence_permit:
            reasons.append(
                Reason(
                    "no_permit_to_renew", "您尚无可续签的居住证。", "You hold no residence permit to renew."
                )
            )
        if kind.renewal is False and holds_residence_permit:
            reasons.append(
                Reason(
                    "permit_already_held",
                    "您已持有居住证，请申请续签。",
                    "You hold a residence permit already: apply for its renewal.",
                )
            )
    return reasons
