"""docs/openapi.json is what the gateway serves at /openapi.json (`make openapi`)."""

from __future__ import annotations

from pathlib import Path

from gateway.__main__ import openapi

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_api_document_is_fresh() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == openapi(), "run 'make openapi' and commit"
