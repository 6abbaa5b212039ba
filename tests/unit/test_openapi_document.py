"""docs/openapi.json is what the gateway serves at /openapi.json (`make openapi`)."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.__main__ import openapi

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_api_document_is_fresh() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == openapi(), "run 'make openapi' and commit"


def test_the_catalogue_schema_beside_the_protos_is_booking_s_own() -> None:
    from gateway.routes.admin import CATALOGUE_SCHEMA
    from services.booking.service_layer.catalogue_file import json_schema

    assert CATALOGUE_SCHEMA.read_text(encoding="utf-8") == json_schema(), "run 'make openapi' and commit"


def test_every_operation_documents_its_problems_as_problem_json() -> None:
    document = json.loads(openapi())
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            assert {"400", "422"} <= set(errors), (method, path)
            if path.startswith("/v1/"):
                assert {"503", "504"} <= set(errors), (method, path)
            if "requestBody" in operation:
                assert "413" in errors, (method, path)
            for status, answer in errors.items():
                media = answer["content"]["application/problem+json"]
                assert media["schema"]["properties"]["code"]["examples"], (method, path, status)
