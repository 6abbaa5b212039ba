"""The cards service's settings choose its partners (decision 46) and keep decision
43: in production no sandbox runs unless MINTONG_ALLOW_SANDBOX names it, and cards,
which checks every courier callback, will not start without the callback secret.
The composition root wires what they choose: in dev, the sandbox courier's worker
runs in the cards host and signs with the key cards verifies with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.cards import bootstrap
from services.cards.adapters.http_courier import HttpCourier
from services.cards.adapters.http_production import HttpProductionCentre
from services.cards.adapters.sandbox_courier import SandboxCourier
from services.cards.adapters.sandbox_production import SandboxProductionCentre
from services.cards.config import CardsSettings
from services.runtime.pii import PiiCipher

PROD = {
    "env": "prod",
    "pii_keys": PiiCipher.generate_key(),
    "pii_lookup_key": "l" * 32,
}
HTTP = {
    "cards_production_provider": "http",
    "cards_production_url": "https://centre.example.test/v1",
    "cards_production_key_id": "mintong",
    "cards_production_secret": "p" * 32,
    "cards_courier_provider": "http",
    "cards_courier_url": "https://courier.example.test/v1",
    "cards_courier_key_id": "mintong",
    "cards_courier_secret": "c" * 32,
}
CALLBACK = {"courier_callback_secret": "k" * 32}


def settings(tmp_path: Path, **values: Any) -> CardsSettings:
    return CardsSettings(data_dir=tmp_path, **values)


def test_production_refuses_the_sandbox_partners_unless_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="card_production, courier"):
        settings(tmp_path, **PROD, **CALLBACK)
    allowed = settings(tmp_path, **PROD, **CALLBACK, allow_sandbox="card_production,courier")
    assert allowed.sandboxes() == {"card_production", "courier"}
    assert settings(tmp_path, **PROD, **CALLBACK, **HTTP).sandboxes() == frozenset()


def test_production_needs_the_callback_secret_whichever_courier(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MINTONG_COURIER_CALLBACK_SECRET"):
        settings(tmp_path, **PROD, **HTTP)


def test_an_http_partner_needs_its_url_and_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MINTONG_CARDS_COURIER_PROVIDER=http needs"):
        settings(tmp_path, cards_courier_provider="http", cards_courier_url="https://courier.example.test")


def test_dev_runs_the_sandboxes_and_the_courier_signs_with_the_key_cards_checks(tmp_path: Path) -> None:
    app = bootstrap.build(settings(tmp_path))
    assert isinstance(app.journey.production, SandboxProductionCentre)
    courier = app.journey.courier
    assert isinstance(courier, SandboxCourier) and courier in app.host.workers
    key = (tmp_path / "courier-callback-secret").read_text().strip().encode()
    assert courier._secret == key  # the key the callback servicer verifies with too


def test_http_partners_are_wired_and_no_sandbox_worker_runs(tmp_path: Path) -> None:
    app = bootstrap.build(settings(tmp_path, **HTTP, **CALLBACK))
    assert isinstance(app.journey.production, HttpProductionCentre)
    assert isinstance(app.journey.courier, HttpCourier)
    assert not any(isinstance(worker, SandboxCourier) for worker in app.host.workers)
