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


def test_the_resident_import_documents_every_column_identity_reads() -> None:
    from services.identity.service_layer.register import COLUMNS, OPTIONAL_COLUMNS

    document = json.loads(openapi())
    record = document["components"]["schemas"]["ResidentRecord"]
    assert list(record["properties"]) == [*COLUMNS, *OPTIONAL_COLUMNS]
    content = document["paths"]["/v1/admin/residents/import"]["post"]["requestBody"]["content"]
    assert set(content) == {"text/csv", "application/x-ndjson", "application/jsonl"}
    for media in content.values():
        assert media["schema"]["x-mintong-record"] == {"$ref": "#/components/schemas/ResidentRecord"}


def test_lat_and_lng_are_documented_as_the_two_query_parameters_read() -> None:
    document = json.loads(openapi())
    parameters = document["paths"]["/v1/cities/{city}/offices"]["get"]["parameters"]
    query = {p["name"] for p in parameters if p["in"] == "query"}
    assert {"lat", "lng"} <= query and "location" not in query


def test_the_import_examples_are_residents_identity_accepts() -> None:
    import datetime as dt

    from services.identity.service_layer.register import rows, to_resident

    document = json.loads(openapi())
    content = document["paths"]["/v1/admin/residents/import"]["post"]["requestBody"]["content"]
    from gateway.routes.identity import JSON_LINES_EXAMPLE

    for example, fmt in ((content["text/csv"]["example"], "csv"), (JSON_LINES_EXAMPLE, "jsonl")):
        [(_line, row)] = list(rows(example.encode(), fmt))  # type: ignore[arg-type]
        assert isinstance(row, dict), row
        assert to_resident(row, dt.date(2026, 1, 1)).name == "王芳", fmt
