"""A request's path is tried against the API's routes before the documentation's
(decision 134), and every documentation page still comes before the web pages."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute
from starlette.routing import Mount

from gateway.app import create_app
from gateway.config import GatewaySettings

DOCUMENTATION = ("/openapi.json", "/static-offline-docs", "/docs", "/docs/oauth2-redirect", "/redoc")


def test_the_api_is_tried_before_the_documentation_and_the_web_pages_last(tmp_path: Path) -> None:
    routes = create_app(GatewaySettings(data_dir=tmp_path)).router.routes
    paths = [getattr(route, "path", None) for route in routes]
    api = [i for i, route in enumerate(routes) if isinstance(route, APIRoute) and route.include_in_schema]
    documentation = [paths.index(path) for path in DOCUMENTATION]
    assert max(api) < min(documentation)
    pages = routes[-1]
    assert isinstance(pages, Mount) and pages.name == "pages"
    assert max(documentation) < len(routes) - 1
