"""The register file's optional columns for the cards service: the card's number and
a residence registered away from the household place, in CSV and JSON lines, each
refused precisely (by field) when wrong; a file without them reads as before, and
digests as before (a re-import after the upgrade rewrites nothing)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.identity.adapters.pii import PiiCipher
from services.identity.adapters.preparer import _pack, _unpack, check, seal
from services.identity.service_layer import register
from services.runtime.errors import ProblemError

TODAY = dt.date(2030, 1, 7)
BASE = {
    "id_number": "11010519491231002X",
    "name": "张三",
    "phone": "13800138000",
    "city": "zhengzhou",
    "household_address": "地址",
    "photo_captured_on": "2022-01-01",
    "fingerprint_on_file": "true",
    "card_issued_on": "2022-01-02",
    "card_expires_on": "2042-01-02",
    "card_status": "valid",
}
EXTRA = {
    "card_number": "ZZ-2022-0001",
    "residence_city": "haikou",
    "residence_address": "海南省海口市龙华区滨海大道7号",
    "residence_registered_on": "2029-01-15",
}


def one(content: bytes, fmt: str) -> dict[str, str]:
    [(_, row)] = register.rows(content, fmt)  # type: ignore[arg-type]
    assert isinstance(row, dict)
    return row


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_optional_columns_read_in_csv_and_json_lines(fmt: str) -> None:
    values = {**BASE, **EXTRA}
    if fmt == "csv":
        content = (",".join(values) + "\n" + ",".join(values.values()) + "\n").encode()
    else:
        content = (json.dumps(values, ensure_ascii=False) + "\n").encode()
    resident = register.to_resident(one(content, fmt), TODAY)
    assert (resident.card_number, resident.residence_city_code, resident.residence_address) == (
        "ZZ-2022-0001",
        "haikou",
        "海南省海口市龙华区滨海大道7号",
    )
    assert resident.residence_registered_on == dt.date(2029, 1, 15)


def test_a_file_without_them_reads_and_digests_as_before() -> None:
    content = (",".join(BASE) + "\n" + ",".join(BASE.values()) + "\n").encode()
    resident = register.to_resident(one(content, "csv"), TODAY)
    assert (resident.card_number, resident.residence_city_code, resident.residence_registered_on) == (
        "",
        "",
        None,
    )
    assert register.digest_text(resident).count(",") == 9  # the ten fields of before, no more
    with_card = register.to_resident({**BASE, "card_number": "N1"}, TODAY)
    assert register.digest_text(with_card) != register.digest_text(resident)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"card_number": "ZZ 1"}, "invalid_card_number", "card_number"),
        ({"card_number": "N" * 33}, "invalid_card_number", "card_number"),
        ({"card_number": "N\x001"}, "invalid_card_number", "card_number"),
        ({"residence_city": "haikou"}, "residence_date_required", "residence_registered_on"),
        ({"residence_address": "某地"}, "residence_date_required", "residence_registered_on"),
        ({"residence_registered_on": "2029-01-15"}, "residence_city_required", "residence_city"),
        (
            {"residence_city": "haikou", "residence_registered_on": "2029-02-30"},
            "invalid_date",
            "residence_registered_on",
        ),
        (
            {"residence_city": "haikou", "residence_registered_on": "2030-01-08"},
            "invalid_date",
            "residence_registered_on",
        ),
        ({**EXTRA, "residence_address": "地\x00址"}, "invalid_text", "residence_address"),
        ({**EXTRA, "residence_address": "\ud800"}, "invalid_text", "residence_address"),
        ({**EXTRA, "residence_address": "长" * 201}, "invalid_text", "residence_address"),
        ({**EXTRA, "residence_city": "h\x07"}, "invalid_text", "residence_city"),
        ({"residence": "x"}, "unknown_field", "residence"),
    ],
)
def test_a_bad_optional_value_is_refused_naming_its_field(
    change: dict[str, str], code: str, field: str
) -> None:
    with pytest.raises(ProblemError) as refused:
        register.to_resident({**BASE, **change}, TODAY)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_the_preparer_seals_the_optional_fields_and_carries_them_between_processes() -> None:
    cipher = PiiCipher([PiiCipher.generate_key()], "l" * 44)
    batch = check(cipher, [(2, {**BASE, **EXTRA}), (3, {**BASE, "id_number": "410105198503121235"})], TODAY)
    assert not batch.problems
    with_extra, without = seal(cipher, batch.residents)
    assert cipher.open(with_extra.sealed["card_number_sealed"]) == "ZZ-2022-0001"
    assert cipher.open(with_extra.sealed["residence_address_sealed"]) == EXTRA["residence_address"]
    assert "card_number_sealed" not in without.sealed and "residence_address_sealed" not in without.sealed
    assert _unpack(_pack(with_extra)).resident == with_extra.resident


def test_a_pool_worker_seals_the_optional_fields_likewise(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.identity.adapters import preparer

    cipher = PiiCipher([PiiCipher.generate_key()], "l" * 44)
    monkeypatch.setattr(preparer, "_worker_cipher", cipher)
    with_extra, without = preparer._seal_in_worker(
        [("1", "2", "3", "4", "N1", "某地"), ("1", "2", "3", "4", "", "")]
    )
    assert {k: cipher.open(v) for k, v in with_extra.items()} == {
        "id_sealed": "1",
        "name_sealed": "2",
        "phone_sealed": "3",
        "address_sealed": "4",
        "card_number_sealed": "N1",
        "residence_address_sealed": "某地",
    }
    assert sorted(without) == ["address_sealed", "id_sealed", "name_sealed", "phone_sealed"]


def test_the_demo_register_reads_with_a_card_number_and_a_residence_away() -> None:
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "residents.csv"
    today = dt.date.today()
    residents = {
        r.name: r
        for _, row in register.rows(demo.read_bytes(), "csv")
        if isinstance(row, dict)
        for r in [register.to_resident(row, today)]
    }
    assert len(residents) == 6
    assert residents["张伟"].card_number
    away = [r for r in residents.values() if r.residence_city_code and r.residence_city_code != r.city_code]
    # Someone may walk the residence-permit journey: registered away for over six months.
    assert away and all(
        r.residence_registered_on and r.residence_registered_on < today - dt.timedelta(days=183) for r in away
    )
